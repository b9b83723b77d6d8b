// The rollout scheduler (see CORE-008): given the run's waves, its budget and where every command
// stands, it says which commands may start next, which are SKIPPED and why, and when the next
// wave may begin. No I/O: the executor (run.ts) tells it each status change and asks it after
// every change what to do, then does it. It keeps counts and cursors instead of looking at every
// command on each decision, which was quadratic in the run's size (CORE-002, growth).
import { hostNames } from '../../domain/host-names.js';
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

export interface Schedule {
  /** A command's status changed: `command` is the live record, already showing the new one. */
  update(command: ScheduledCommand): void;
  /**
   * A started command ended failed (its final status is journaled) and its rollback runs now: its
   * host counts as failed from this moment (CORE-008), while the command keeps its stage open
   * until the rollback ends and `update` tells its status (CORE-009).
   */
  failing(command: ScheduledCommand): void;
  decide(released: ReadonlySet<number>, freeSlots: number): Decision;
}

/** A host fails when one of its commands ends so; these count against the budget (see CORE-008). */
const FAILED: ReadonlySet<CommandStatus> = new Set(['ERROR', 'TIMEOUT', 'BLOCKED', 'ORPHANED']);

/** One decision over `commands` as they are now (tests; the executor keeps a Schedule). */
export function decide(
  plan: RolloutPlan,
  commands: readonly ScheduledCommand[],
  released: ReadonlySet<number>,
  freeSlots: number,
): Decision {
  return createSchedule(plan, commands).decide(released, freeSlots);
}

/** A group of commands that start together: one stage of one wave, in host order. */
interface Group {
  readonly commands: ScheduledCommand[];
  /** Commands neither finished nor about to be SKIPPED: the stage barrier waits for them. */
  open: number;
  /** Everything before it has been handed out or will never start. */
  cursor: number;
}

export function createSchedule(plan: RolloutPlan, commands: readonly ScheduledCommand[]): Schedule {
  const order = new Map(commands.map((c, i) => [c.id, i]));
  const byHost = new Map<string, ScheduledCommand[]>();
  // Per wave, its groups by stage in stage order; waves in the plan's order.
  const groups = new Map<number, Map<number, Group>>();
  for (const c of commands) {
    const own = byHost.get(c.hostId);
    if (own) own.push(c);
    else byHost.set(c.hostId, [c]);
    const stages = groups.get(c.batch) ?? new Map<number, Group>();
    groups.set(c.batch, stages);
    const group = stages.get(c.stage) ?? { commands: [], open: 0, cursor: 0 };
    stages.set(c.stage, group);
    group.commands.push(c);
  }
  const stagesOf = new Map([...groups].map(([batch, stages]) => [batch, [...stages.keys()].sort((a, b) => a - b)]));
  const groupOf = (c: ScheduledCommand) => groups.get(c.batch)!.get(c.stage)!;

  const hostCount = plan.waves.reduce((sum, wave) => sum + wave.hosts.length, 0);
  const dropped = new Set<string>();
  const failed = new Set<string>();
  let controllerStop = Number.POSITIVE_INFINITY;
  const counted = new Set<string>();
  const skipping = new Set<string>();
  let pending: { id: string; reason: string | null }[] = [];
  let stopApplied = false;
  let waveCursor = 0;

  const waiting = (c: ScheduledCommand) => c.status === 'PENDING' && !c.started && !skipping.has(c.id);
  const skip = (c: ScheduledCommand, reason: string | null) => {
    skipping.add(c.id);
    groupOf(c).open--;
    pending.push({ id: c.id, reason });
  };
  // CORE-002: a host that did not succeed drops out; a failed controller op stops every host.
  const finished = (c: ScheduledCommand) => {
    if (c.status === 'SUCCESS' || c.status === 'SKIPPED') return;
    if (c.hostId === CONTROLLER_HOST_ID) {
      if (c.stage >= controllerStop) return;
      controllerStop = c.stage;
      for (const other of commands) if (other.stage > controllerStop && waiting(other)) skip(other, null);
      return;
    }
    if (FAILED.has(c.status)) failed.add(c.hostId);
    if (dropped.has(c.hostId)) return;
    dropped.add(c.hostId);
    for (const other of byHost.get(c.hostId) ?? []) if (waiting(other)) skip(other, null);
  };
  const update = (c: ScheduledCommand) => {
    if (!isTerminalCommand(c.status) || counted.has(c.id)) return;
    counted.add(c.id);
    if (skipping.has(c.id)) skipping.delete(c.id);
    else groupOf(c).open--;
    finished(c);
  };

  for (const c of commands) groupOf(c).open++;
  for (const c of commands) update(c);

  return {
    update,
    failing: (c) => {
      if (!counted.has(c.id) && isTerminalCommand(c.status)) finished(c);
    },
    decide(released, freeSlots) {
      const stopped = stopReason(plan, failed, dropped);
      if (stopped !== null && !stopApplied) {
        stopApplied = true;
        for (const c of commands) if (waiting(c)) skip(c, stopped);
      }
      const skipped = pending.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
      pending = [];
      if (stopped !== null) return { skip: skipped, start: [], stopped };

      // Waves and stages only ever close, so the first open one is found from where the last was.
      const isOpen = (wave: Wave) => stagesOf.get(wave.batch)?.some((s) => groups.get(wave.batch)!.get(s)!.open > 0);
      while (waveCursor < plan.waves.length && !isOpen(plan.waves[waveCursor]!)) waveCursor++;
      const wave = plan.waves[waveCursor];
      if (wave === undefined) return { skip: skipped, start: [], stopped };
      if (!released.has(wave.batch)) return { skip: skipped, start: [], release: wave, stopped };
      // The stage barrier holds inside a wave: its stage k+1 waits for all of its stage k.
      const stages = groups.get(wave.batch)!;
      const group = stages.get(stagesOf.get(wave.batch)!.find((s) => stages.get(s)!.open > 0)!)!;
      const start: string[] = [];
      for (let i = group.cursor; i < group.commands.length && start.length < freeSlots; i++) {
        const c = group.commands[i]!;
        if (!waiting(c)) {
          if (i === group.cursor) group.cursor++;
          continue;
        }
        // CORE-002: a controller op with no host of the run left to use it is SKIPPED (one in the
        // last wave still serves the hosts of the waves before it, CORE-008).
        if (c.hostId === CONTROLLER_HOST_ID && dropped.size === hostCount) {
          skip(c, null);
          skipped.push(pending.pop()!);
        } else start.push(c.id);
      }
      return { skip: skipped, start, stopped };
    },
  };
}

/**
 * A canary host that failed, or dropped out otherwise (its command killed on its own, CANCELLED),
 * or more failed hosts than the budget allows, stops the rollout. `dropped` holds `failed`.
 */
export function stopReason(
  plan: RolloutPlan,
  failed: ReadonlySet<string>,
  dropped: ReadonlySet<string>,
): string | null {
  const failedCanary = plan.canary.filter((h) => failed.has(h));
  const cancelledCanary = plan.canary.filter((h) => dropped.has(h) && !failed.has(h));
  if (failedCanary.length > 0 || cancelledCanary.length > 0) {
    // A canary of every host of the run has no other hosts to hold back (CORE-008).
    const alone = plan.waves.every((w) => w.batch === 0);
    const rest = alone
      ? 'the canary is every host of the run, so nothing more was started'
      : 'the other hosts were not started';
    const what =
      failedCanary.length > 0
        ? `canary failed on ${hostNames(failedCanary)}`
        : `canary cancelled on ${hostNames(cancelledCanary)}`;
    return `${what}: ${rest}`;
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
