// How one command ended, before it is journaled (see CORE-001 and CORE-009).
import type { CommandStatus } from '../domain/status.js';

export interface Verdict {
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  readonly error: string | null;
  /** The transport failed before the op's command started on the host: nothing there changed. */
  readonly notRun?: boolean;
}

/** CORE-009: a rollback undoes an op that ran and failed, not one that was blocked, killed or never started. */
export function isRollbackWorthy(verdict: Verdict): boolean {
  return (verdict.status === 'ERROR' || verdict.status === 'TIMEOUT') && verdict.notRun !== true;
}

/**
 * CORE-001: output that could not be stored (a full disk) is never lost silently. The record says
 * so, and a command that otherwise succeeded is an ERROR, so the run cannot end COMPLETE with
 * its output missing and the host does not go on writing to a disk that refuses writes.
 */
export function withLostOutput(verdict: Verdict, file: string, reason: string): Verdict {
  const note = `output not stored (${file}): ${reason}`;
  if (verdict.status === 'SUCCESS') {
    return { status: 'ERROR', exitCode: verdict.exitCode, error: `${note}; the command itself succeeded` };
  }
  return { ...verdict, error: verdict.error === null ? note : `${verdict.error}; ${note}` };
}
