// The rollout scheduler (see CORE-008): given the run's waves, its budget and where every command
// stands, it says which commands may start next, which are SKIPPED and why, and when the next
// wave may begin. Pure: the executor (run.ts) asks it after every change and does what it says.
import type { CommandStatus } from '../../domain/status.js';
import { isTerminalCommand } from '../../domain/status.js';
import { CONTROLLER_HOST_ID } from '../../registry/types.js';
import type { RolloutPlan, Wave } from './rollout-plan.js';

export interface ScheduledCommand {
  readonly id: string;
  readonly stage: number;
  readonly hostId: string;
  readonly batch: number;
  readonly status: CommandStatus;
  /** Handed to the op runner; it may still read PENDING for a moment. */
  readonly started: boolean;
}

export interface Decision {
  /** Commands that will never run; `reason` null is && semantics (an earlier stage of the host failed). */
  readonly skip: readonly { readonly id: string; readonly reason: string | null }[];
  /** Start these now (at most `freeSlots`), in stage then host order. */
  readonly start: readonly string[];
  /** The next wave may begin (after the pause); the executor releases it and asks again. */
  readonly release?: Wave;
  /** Why the rollout stopped early (budget exceeded, canary failed), once it has. */
  readonly stopped: string | null;
}

/** A host fails when one of its commands ends so; these count against the budget (see CORE-008). */
const FAILED: ReadonlySet<CommandStatus> = new Set(['ERROR', 'TIMEOUT', 'BLOCKED', 'ORPHANED']);

export function decide(
  plan: RolloutPlan,
  commands: readonly ScheduledCommand[],
  released: ReadonlySet<number>,
  freeSlots: number,
): Decision {
  const dropped = new Set<string>();
  const failed = new Set<string>();
  let controllerStop = Number.POSITIVE_INFINITY;
  for (const c of commands) {
    if (!isTerminalCommand(c.status) || c.status === 'SUCCESS' || c.status === 'SKIPPED') continue;
    if (c.hostId === CONTROLLER_HOST_ID) controllerStop = Math.min(controllerStop, c.stage);
    else {
      dropped.add(c.hostId);
      if (FAILED.has(c.status)) failed.add(c.hostId);
    }
  }
  const stopped = stopReason(plan, failed);
  const skip: { id: string; reason: string | null }[] = [];
  const waiting = (c: ScheduledCommand) => c.status === 'PENDING' && !c.started;
  const open = commands.filter((c) => {
    if (!waiting(c)) return !isTerminalCommand(c.status);
    // CORE-002: a host that did not succeed drops out; a failed controller op stops every host.
    if (dropped.has(c.hostId) || c.stage > controllerStop) skip.push({ id: c.id, reason: null });
    else if (stopped !== null) skip.push({ id: c.id, reason: stopped });
    else return true;
    return false;
  });
  if (stopped !== null) return { skip, start: [], stopped };

  // Grouped once: a run may have hundreds of one-host waves, and this is asked after every change.
  const byBatch = new Map<number, ScheduledCommand[]>();
  for (const c of open) {
    const group = byBatch.get(c.batch);
    if (group) group.push(c);
    else byBatch.set(c.batch, [c]);
  }
  for (const wave of plan.waves) {
    const inWave = byBatch.get(wave.batch);
    if (inWave === undefined) continue;
    if (!released.has(wave.batch)) return { skip, start: [], release: wave, stopped };
    // The stage barrier holds inside a wave: its stage k+1 waits for all of its stage k.
    const stage = inWave.reduce((least, c) => Math.min(least, c.stage), Number.POSITIVE_INFINITY);
    const start: string[] = [];
    for (const c of inWave) {
      if (c.stage !== stage || !waiting(c)) continue;
      // CORE-002: a controller op with no host left to use it is SKIPPED.
      if (c.hostId === CONTROLLER_HOST_ID && wave.hosts.every((h) => dropped.has(h))) {
        skip.push({ id: c.id, reason: null });
      } else if (start.length < freeSlots) start.push(c.id);
    }
    return { skip, start, stopped };
  }
  return { skip, start: [], stopped };
}

/** A failed canary host, or more failed hosts than the budget allows, stops the rollout. */
export function stopReason(plan: RolloutPlan, failed: ReadonlySet<string>): string | null {
  const failedCanary = plan.canary.filter((h) => failed.has(h));
  if (failedCanary.length > 0) {
    return `canary failed on ${failedCanary.join(', ')}: the other hosts were not started`;
  }
  if (plan.maxFailures !== null && failed.size > plan.maxFailures) {
    const total = plan.waves.reduce((sum, w) => sum + w.hosts.length, 0);
    const spec = plan.maxFailuresSpec?.endsWith('%') ? ` (${plan.maxFailuresSpec})` : '';
    return `failure budget exceeded: ${failed.size} of ${total} hosts failed, limit ${plan.maxFailures}${spec}`;
  }
  return null;
}

/** Hosts of the run that failed so far (the budget's "used"). */
export function failedHosts(commands: readonly Pick<ScheduledCommand, 'hostId' | 'status'>[]): Set<string> {
  return new Set(commands.filter((c) => c.hostId !== CONTROLLER_HOST_ID && FAILED.has(c.status)).map((c) => c.hostId));
}
