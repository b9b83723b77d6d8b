// What the dashboard may ask the server process to do (see CORE-004): start a run with the same
// engine as `nixfleet apply`, retry one as `nixfleet retry` does, and ask a run (owned by any
// process) to cancel.
import type { RunRecord } from '../store/types.js';

/**
 * The server is stopping (a SIGINT/SIGTERM, CORE-004): it starts no new runs, so that every run it
 * started is cancelled and awaited before the journal closes. The API answers 503.
 */
export class ServerStoppingError extends Error {
  override readonly name = 'ServerStoppingError';
  constructor() {
    super('nixfleet serve is stopping and starts no new runs');
  }
}

export interface ApplyRequest {
  /** A pipeline or op id; undefined means settings.defaultPipeline. */
  readonly target?: string;
  /** A host selector; undefined means the pipeline's own `hosts`, else every host. */
  readonly on?: string;
  /** False: no rollback runs and no rollback timer is armed, as `apply --no-rollback` (CORE-009). */
  readonly rollback?: false;
}

export interface ApplyStarted {
  readonly runId: string;
  /**
   * What `nixfleet apply` would say on stderr before the run: its canary count capped (CORE-008,
   * canaryCapText). Absent when there is nothing to say.
   */
  readonly notice?: string;
}

export interface CancelRequest {
  readonly kill?: boolean;
  readonly hostId?: string;
}

export interface RunDispatcher {
  /**
   * Starts the run and resolves once it is journaled. Rejects with HostsBusyError or UserError,
   * and with ServerStoppingError once the server is stopping.
   */
  apply(request: ApplyRequest): Promise<ApplyStarted>;
  /**
   * Reruns what did not complete of a finished run, with the rules of `nixfleet retry` (without
   * --force). Rejects with UserError (cannot be retried), RecordNotFound as UserError, HostsBusyError,
   * ServerStoppingError.
   */
  retry(runId: string): Promise<{ runId: string } | { nothing: string }>;
  /**
   * Marks the run for cancellation; undefined when no such run exists. `kill`: running commands
   * are killed too; with `hostId`, only that host's running command is killed and the run goes
   * on (CORE-011).
   */
  cancel(runId: string, options?: CancelRequest): RunRecord | undefined;
}
