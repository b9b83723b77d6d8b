// Which hosts go through the stages together (see CORE-008): the canary wave, then batches. Pure:
// it reads the plan's hosts, the pipeline's `rollout:` and the `apply` flags, nothing else.
import { formatHostAmount } from '../../config/host-amount.js';
import { UserError } from '../../errors/user-error.js';
import { selectHosts } from '../../registry/selector.js';
import type { HostAmount, Registry, Rollout } from '../../registry/types.js';
import type { RolloutRecord } from '../../store/types.js';

/** Hosts that start together and go through every stage before the next wave starts. */
export interface Wave {
  /** 0 for the canary, then 1, 2, … */
  readonly batch: number;
  readonly hosts: readonly string[];
}

export interface RolloutPlan extends RolloutRecord {
  readonly waves: readonly Wave[];
  /**
   * `canary: N` asked for more hosts than it got: a run of 2 or more hosts keeps at least one
   * after the canary wave, a run of one host has it as its canary (CORE-008, capped canary).
   * Absent when the canary is what was asked for; not journaled.
   */
  readonly canaryAsked?: number;
}

/** `apply --batch/--canary/--max-failures`: each replaces the pipeline's own setting. */
export interface RolloutOverrides {
  readonly batch?: HostAmount;
  readonly canary?: Rollout['canary'];
  readonly maxFailures?: HostAmount;
}

export function planRollout(
  registry: Registry,
  hosts: readonly string[],
  declared: Rollout | undefined,
  overrides: RolloutOverrides = {},
): RolloutPlan {
  const batch = overrides.batch ?? declared?.batch;
  const canarySpec = overrides.canary ?? declared?.canary;
  const budget = overrides.maxFailures ?? declared?.maxFailures;
  const strategy = overrides.batch !== undefined ? 'batches' : (declared?.strategy ?? 'stages');
  const canary = canarySpec === undefined ? [] : canaryHosts(registry, hosts, canarySpec);
  const capped =
    canarySpec !== undefined && 'count' in canarySpec && hosts.length > 0 && canarySpec.count > canary.length;
  const rest = hosts.filter((h) => !canary.includes(h));
  const size = strategy === 'batches' && batch !== undefined ? batchSize(batch, rest.length) : rest.length;
  const waves: Wave[] = canary.length > 0 ? [{ batch: 0, hosts: canary }] : [];
  for (let i = 0; i < rest.length; i += Math.max(size, 1)) {
    waves.push({ batch: waves.length + (canary.length > 0 ? 0 : 1), hosts: rest.slice(i, i + Math.max(size, 1)) });
  }
  return {
    strategy,
    canary,
    batches: waves.filter((w) => w.batch > 0).length,
    maxFailures: budget === undefined ? null : amountOf(budget, hosts.length),
    maxFailuresSpec: budget === undefined ? null : formatHostAmount(budget),
    pauseMs: declared?.pauseMs ?? 0,
    waves,
    ...(capped ? { canaryAsked: canarySpec.count } : {}),
  };
}

/** `canary 3 capped at 1 of 2 hosts, …`: said by `plan` and `apply` when the count was cut (CORE-008). */
export function canaryCapText(rollout: RolloutPlan): string | null {
  if (rollout.canaryAsked === undefined) return null;
  const total = rollout.waves.reduce((sum, wave) => sum + wave.hosts.length, 0);
  const cut = `canary ${rollout.canaryAsked} capped at ${rollout.canary.length} of ${total} host${total === 1 ? '' : 's'}`;
  return total === 1 ? `${cut}, the only host of the run` : `${cut}, so at least one host waits for the canary`;
}

/** Today's behaviour: every host in one wave, no budget. */
export function singleWave(hosts: readonly string[]): RolloutPlan {
  return {
    strategy: 'stages',
    canary: [],
    batches: 1,
    maxFailures: null,
    maxFailuresSpec: null,
    pauseMs: 0,
    waves: [{ batch: 1, hosts }],
  };
}

/** The rollout of a retry: the same budget and pause, each host in the wave it had (see CORE-008, retry). */
export function resumeRollout(record: RolloutRecord, hosts: readonly string[], batchOf: (host: string) => number) {
  const byBatch = new Map<number, string[]>();
  for (const host of hosts) {
    const batch = batchOf(host);
    byBatch.set(batch, [...(byBatch.get(batch) ?? []), host]);
  }
  const waves = [...byBatch.entries()].sort(([a], [b]) => a - b).map(([batch, members]) => ({ batch, hosts: members }));
  return { ...record, canary: record.canary.filter((h) => hosts.includes(h)), waves } satisfies RolloutPlan;
}

function canaryHosts(registry: Registry, hosts: readonly string[], spec: NonNullable<Rollout['canary']>): string[] {
  // A count never takes every host of a run of two or more: a canary with no host after it would
  // hold nothing back (CORE-008). A selector is taken as given, even when it matches them all.
  if ('count' in spec) return hosts.slice(0, Math.min(spec.count, Math.max(1, hosts.length - 1)));
  const chosen = new Set(selectHosts(registry, spec.selector));
  const canary = hosts.filter((h) => chosen.has(h));
  if (canary.length === 0) {
    throw new UserError(`canary \`${spec.selector}\` matches none of the run's hosts`, {
      hint: 'pick canary hosts among the hosts the run targets, or give a number (`--canary 1`)',
    });
  }
  return canary;
}

/** A batch: N hosts, or N% of the hosts after the canary rounded down, never fewer than one. */
function batchSize(amount: HostAmount, rest: number): number {
  return Math.max(1, amountOf(amount, rest));
}

function amountOf(amount: HostAmount, of: number): number {
  return 'count' in amount ? amount.count : Math.floor((amount.percent * of) / 100);
}
