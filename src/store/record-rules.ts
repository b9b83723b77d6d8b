// What both journal engines decide the same way, whatever their SQL (see CORE-003, CORE-012):
// the record of a command just created, and how a cancel or kill request changes a run's row.
import {
  assertCommandTransition,
  assertRunTransition,
  type CommandStatus,
  isTerminalCommand,
  type RunStatus,
} from '../domain/status.js';
import type { CommandRow, EventRow, RunRow } from './rows.js';
import type { CommandPatch, CommandRecord, NewEvent, NewRun, Owner } from './types.js';

export interface NewCommandRow {
  readonly id: string;
  readonly runId: string;
  readonly hostId: string;
  readonly op: string;
  readonly stage: number;
  readonly batch?: number;
  readonly rollbackOf?: string;
}

/** A command as a run or a rollback creates it: PENDING, first attempt, nothing run yet. */
export function pendingCommandRecord(command: NewCommandRow, at: number): CommandRecord {
  return {
    id: command.id,
    runId: command.runId,
    hostId: command.hostId,
    op: command.op,
    stage: command.stage,
    status: 'PENDING',
    attempt: 1,
    createdAt: at,
    startedAt: null,
    finishedAt: null,
    exitCode: null,
    error: null,
    outputFile: null,
    batch: command.batch ?? null,
    rollbackOf: command.rollbackOf ?? null,
    armed: null,
  };
}

/**
 * The run's row once a cancel or kill request is taken in, or undefined when the request changes
 * nothing: asked twice, or after the run ended. A per-host kill (CORE-011) ends that host's
 * running command and the run goes on.
 */
export function withCancelRequest(row: RunRow, options: { kill?: boolean; hostId?: string }): RunRow | undefined {
  const next = { ...row };
  if (options.hostId !== undefined) {
    const hosts = JSON.parse(row.kill_hosts) as string[];
    if (!hosts.includes(options.hostId)) next.kill_hosts = JSON.stringify([...hosts, options.hostId]);
  } else {
    next.cancel_requested = 1;
    if (options.kill) next.kill_requested = 1;
  }
  const same =
    next.cancel_requested === row.cancel_requested &&
    next.kill_requested === row.kill_requested &&
    next.kill_hosts === row.kill_hosts;
  return row.status !== 'RUNNING' || same ? undefined : next;
}

/**
 * The run's row once it moved to `stage` of `batch` (the same wave when undefined): waves only go
 * forward, and within one wave, stages too (CORE-008). Throws RangeError otherwise.
 */
export function advancedRow(row: RunRow, stage: number, batch: number | undefined): RunRow {
  assertRunTransition(row.id, row.status as RunStatus, 'RUNNING');
  const stages = JSON.parse(row.stages) as string[];
  const from = row.current_batch ?? null;
  const to = batch ?? from;
  const laterWave = to !== null && (from === null || to > from);
  if (
    !Number.isInteger(stage) ||
    stage < 0 ||
    stage >= stages.length ||
    (to !== null && !Number.isInteger(to)) ||
    (!laterWave && (to !== from || stage < row.current_stage))
  ) {
    const where = from === null ? '' : ` of batch ${from}`;
    const wanted = to === null ? '' : ` of batch ${to}`;
    throw new RangeError(
      `run ${row.id}: cannot move to stage ${stage}${wanted} (at stage ${row.current_stage}${where}, ${stages.length} stage(s))`,
    );
  }
  // A wave's stage starting ends any pause before it (CORE-008).
  return { ...row, current_stage: stage, current_batch: to, paused_until: null, paused_before: null };
}

/**
 * The run's row while its rollout waits until `until` before wave `nextBatch` (CORE-008): only a
 * running run, and only before a later wave than the one it is in. Throws RangeError otherwise.
 */
export function pausedRow(row: RunRow, until: number, nextBatch: number): RunRow {
  assertRunTransition(row.id, row.status as RunStatus, 'RUNNING');
  const from = row.current_batch ?? null;
  if (!Number.isInteger(until) || !Number.isInteger(nextBatch) || (from !== null && nextBatch <= from)) {
    throw new RangeError(`run ${row.id}: cannot pause before batch ${nextBatch} (in batch ${from ?? 'none'})`);
  }
  return { ...row, paused_until: until, paused_before: nextBatch };
}

/** The values of a new run's row, in the column order both engines insert them. */
export function newRunValues(id: string, run: NewRun, owner: Owner, at: number) {
  return [
    id,
    run.name,
    run.targetKind,
    JSON.stringify(run.hosts),
    JSON.stringify(run.stages),
    at,
    run.registryHash,
    run.retryOf ?? null,
    run.actor,
    owner.pid,
    owner.hostname,
    owner.startedAt,
    run.rollout ? JSON.stringify(run.rollout) : null,
  ];
}

/** A command's row after a status change, checked against the status machine (CORE-001). */
export function transitionedRow(
  id: string,
  row: CommandRow,
  to: CommandStatus,
  patch: CommandPatch,
  at: number,
): CommandRow {
  const from = row.status as CommandStatus;
  assertCommandTransition(id, from, to);
  // CORE-001: EXECUTING -> EXECUTING is an automatic retry, so the attempt goes up by itself.
  const retried = from === 'EXECUTING' && to === 'EXECUTING';
  return {
    ...row,
    status: to,
    attempt: patch.attempt ?? (retried ? row.attempt + 1 : row.attempt),
    started_at: to === 'VALIDATING' ? at : row.started_at,
    finished_at: isTerminalCommand(to) ? at : row.finished_at,
    exit_code: patch.exitCode !== undefined ? patch.exitCode : retried ? null : row.exit_code,
    error: patch.error !== undefined ? patch.error : retried ? null : row.error,
  };
}

/** A new event's row, with its defaults (actor `system`, no host, details as JSON), before it has an id. */
export function newEventRow(event: NewEvent, timestamp: number): Omit<EventRow, 'id'> {
  return {
    timestamp,
    category: event.category,
    level: event.level,
    actor: event.actor ?? 'system',
    host_id: event.hostId ?? null,
    action: event.action,
    message: event.message,
    details: event.details === undefined ? null : JSON.stringify(event.details),
  };
}
