// Thrown by Journal.createRun for a retry that must be the first of its run when the run has one
// already (see CORE-002, retry): two retries started at once both passed the check made before
// their secrets were read, and both ran. Checked again in the transaction that creates the run,
// nothing of the second is journaled.
import type { RunStatus } from '../domain/status.js';

export class AlreadyRetriedError extends Error {
  readonly runId: string;
  readonly laterId: string;
  readonly laterStatus: RunStatus;
  constructor(runId: string, laterId: string, laterStatus: RunStatus) {
    super(`run ${runId} was already retried by ${laterId} (${laterStatus})`);
    this.name = 'AlreadyRetriedError';
    this.runId = runId;
    this.laterId = laterId;
    this.laterStatus = laterStatus;
  }
}
