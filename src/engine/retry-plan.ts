// What `nixfleet retry` runs again (see CORE-002, retry): for each host of a finished run that did
// not complete, the stage where it stopped and everything after. Pure.
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import type { CommandRecord, RunRecord } from '../store/types.js';

/** What the plan reads of a command: a journaled one, or the recap's view of one (CORE-002, hints). */
export type RetryCommand = Pick<CommandRecord, 'hostId' | 'op' | 'stage' | 'status' | 'startedAt'>;

export interface RetryPlan<C extends RetryCommand = CommandRecord> {
  /** Hosts to run again, in the run's order, with the first stage each runs. */
  readonly fromStage: ReadonlyMap<string, number>;
  /** Commands that stopped a host and may have changed it (they ran and failed, or were killed). */
  readonly rerun: readonly C[];
}

export function planRetry<C extends RetryCommand>(run: Pick<RunRecord, 'hosts'>, commands: readonly C[]): RetryPlan<C> {
  // Each host's earliest command that did not succeed, in one pass over the run's commands.
  const firstStop = new Map<string, C>();
  for (const c of commands) {
    if (c.status === 'SUCCESS') continue;
    const first = firstStop.get(c.hostId);
    if (first === undefined || c.stage < first.stage) firstStop.set(c.hostId, c);
  }
  const stoppedAt = (hostId: string) => firstStop.get(hostId);
  const controllerStop = stoppedAt(CONTROLLER_HOST_ID);
  const fromStage = new Map<string, number>();
  const rerun = new Set<C>();
  for (const host of run.hosts) {
    const own = stoppedAt(host);
    // A failed controller op stopped every host at its stage.
    const stop =
      controllerStop !== undefined && (own === undefined || controllerStop.stage <= own.stage) ? controllerStop : own;
    if (stop === undefined) continue;
    fromStage.set(host, stop.stage);
    if (mayHaveRun(stop)) rerun.add(stop);
  }
  return { fromStage, rerun: [...rerun] };
}

function mayHaveRun(command: RetryCommand): boolean {
  if (command.status === 'ERROR' || command.status === 'TIMEOUT') return true;
  // Killed while running (second Ctrl-C), or its nixfleet died: only one that started may have
  // done part of its work. One still PENDING then never ran.
  return (command.status === 'CANCELLED' || command.status === 'ORPHANED') && command.startedAt !== null;
}

/** The ops of `rerun` not marked retryable: by the current registry for `retry`, by the run's for its recap. */
export function unsafeToRerun(rerun: readonly RetryCommand[], isRetryable: (op: string) => boolean): string[] {
  const ops = new Set(rerun.map((c) => c.op));
  return [...ops].filter((op) => !isRetryable(op));
}
