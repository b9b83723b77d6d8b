// How one command ended, before it is journaled (see CORE-001 and CORE-009).
import type { CommandStatus } from '../domain/status.js';

export interface Verdict {
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  readonly error: string | null;
}

/** CORE-009: a rollback undoes an op that ran and failed, not one that was blocked or killed. */
export function isRollbackWorthy(verdict: Verdict): boolean {
  return verdict.status === 'ERROR' || verdict.status === 'TIMEOUT';
}
