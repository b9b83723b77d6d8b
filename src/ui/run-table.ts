// How stored runs read in a terminal (`runs`, `show`): plain text built from journal records.
import { waveName } from '../domain/wave-name.js';
import type { CommandRecord, RunRecord } from '../store/types.js';
import { formatElapsed } from './elapsed.js';

/**
 * `2026-11-27 06:31:02Z`, in UTC. From the UTC fields, not `toISOString`, whose first call costs
 * about a millisecond of every `runs` and `show` (CORE-005, start-up).
 */
export function formatTimestamp(ms: number): string {
  const at = new Date(ms);
  const two = (n: number) => String(n).padStart(2, '0');
  const day = `${String(at.getUTCFullYear()).padStart(4, '0')}-${two(at.getUTCMonth() + 1)}-${two(at.getUTCDate())}`;
  return `${day} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())}Z`;
}

export function runDuration(run: RunRecord, now: number = Date.now()): string {
  return formatElapsed((run.finishedAt ?? now) - run.createdAt);
}

/**
 * `RUNNING (stage 2/3)` while running, `RUNNING (batch 2/4, stage 1/3)` in a rollout's wave,
 * `RUNNING (paused before batch 2/4 until 2026-11-27 06:31:02Z)` while it waits between waves
 * (see CORE-008); the final status after.
 */
export function runProgress(run: RunRecord): string {
  if (run.status !== 'RUNNING') return run.status;
  const cancelling = run.cancelRequested ? ', cancelling' : '';
  if (run.pause !== null) {
    const next = waveName(run.pause.nextBatch, run.rollout?.batches ?? 1);
    return `RUNNING (paused before ${next} until ${formatTimestamp(run.pause.until)}${cancelling})`;
  }
  const wave = waveLabel(run);
  return `RUNNING (${wave === null ? '' : `${wave}, `}stage ${run.currentStage + 1}/${run.stages.length}${cancelling})`;
}

/** The wave the run is in, named when the run goes in several (`canary`, `batch 2/4`). */
function waveLabel({ rollout, currentBatch }: RunRecord): string | null {
  if (rollout === null || currentBatch === null) return null;
  const several = currentBatch === 0 || rollout.batches > 1 || rollout.canary.length > 0;
  return several ? waveName(currentBatch, rollout.batches) : null;
}

/** One cell of `show`: `SUCCESS 0.3s`, `ERROR(2) 1.0s`, `SKIPPED`. */
export function commandCell(command: CommandRecord | undefined): string {
  if (!command) return '-';
  const code = command.exitCode !== null && command.status !== 'SUCCESS' ? `(${command.exitCode})` : '';
  const took =
    command.startedAt !== null && command.finishedAt !== null
      ? ` ${formatElapsed(command.finishedAt - command.startedAt)}`
      : '';
  const attempts = command.attempt > 1 ? ` x${command.attempt}` : '';
  return `${command.status}${code}${took}${attempts}`;
}
