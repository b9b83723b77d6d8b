// Thrown by Journal.createRun when a target host is held by another live run (see CORE-003).
// The CLI turns it into exit 3 (BLOCKED): nothing of the new run was started or journaled.
import type { BusyHost } from './types.js';

export class HostsBusyError extends Error {
  readonly busy: readonly BusyHost[];
  constructor(busy: readonly BusyHost[]) {
    super(`host(s) busy: ${busy.map((b) => `${b.hostId} (run ${b.runId})`).join(', ')}`);
    this.name = 'HostsBusyError';
    this.busy = busy;
  }
}
