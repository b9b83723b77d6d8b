// What both journal engines decide the same way, whatever their SQL (see CORE-003, CORE-012):
// the record of a command just created, and how a cancel or kill request changes a run's row.
import type { RunRow } from './rows.js';
import type { CommandRecord } from './types.js';

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
