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
