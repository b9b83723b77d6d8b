// `serve` runs for weeks: it applies retention on a schedule, not only when it starts (see
// CORE-003, retention). NIXFLEET_PRUNE_INTERVAL sets how often (default a day); the timer is
// unref'd (it never keeps nixfleet alive) and stopped with serve.
import { UserError } from '../errors/user-error.js';
import type { Journal, PruneResult } from '../store/types.js';

export const DEFAULT_PRUNE_INTERVAL_MS = 86_400_000;
/** How often the timer asks whether retention is due: never longer, so a long interval needs no long timer. */
const CHECK_EVERY_MS = 3_600_000;
/** setTimeout/setInterval treat anything above 2^31-1 ms as 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** NIXFLEET_PRUNE_INTERVAL: milliseconds, or a duration such as `30s`, `6h`, `1d`; 1s to 365d. */
export function pruneIntervalFrom(env: NodeJS.ProcessEnv): number {
  const raw = env.NIXFLEET_PRUNE_INTERVAL;
  if (raw === undefined || raw.trim() === '') return DEFAULT_PRUNE_INTERVAL_MS;
  const match = DURATION.exec(raw.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1) : Number.NaN;
  if (!Number.isFinite(ms) || ms < 1000 || ms > 365 * UNIT_MS.d!) {
    throw new UserError(`NIXFLEET_PRUNE_INTERVAL: \`${raw}\` is not a duration between 1s and 365d`, {
      hint: 'use a duration such as 6h or 1d, or unset it for once a day',
    });
  }
  return Math.round(ms);
}

export interface PruneSchedule {
  stop(): void;
}

export function schedulePrune(
  journal: Journal,
  everyMs: number,
  report: { onPruned?: (result: PruneResult) => void; onError: (error: unknown) => void },
): PruneSchedule {
  const period = Math.min(everyMs, CHECK_EVERY_MS, MAX_TIMER_MS);
  const timer = setInterval(() => {
    try {
      const result = journal.pruneIfDue(everyMs);
      if (result !== null) report.onPruned?.(result);
    } catch (error) {
      // A full disk or a busy journal must not stop the dashboard: the next tick tries again.
      report.onError(error);
    }
  }, period);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
