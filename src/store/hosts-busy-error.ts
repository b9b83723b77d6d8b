// Thrown by Journal.createRun when a target host is held by another live run (see CORE-003).
// The CLI turns it into exit 3 (BLOCKED): nothing of the new run was started or journaled.
import { groupBy } from '../domain/group-by.js';
import { hostNames, LISTED_HOSTS } from '../domain/host-names.js';
import type { BusyHost } from './types.js';

export class HostsBusyError extends Error {
  readonly busy: readonly BusyHost[];
  constructor(busy: readonly BusyHost[]) {
    super(`host(s) busy: ${busyText(busy)}`);
    this.name = 'HostsBusyError';
    this.busy = busy;
  }
}

/** `web1 (run r1), db1 (run r2)`; past a few hosts, by run: `h0000, h0001, h0002 and 2997 more (run r1)`. */
function busyText(busy: readonly BusyHost[]): string {
  if (busy.length <= LISTED_HOSTS) return busy.map((b) => `${b.hostId} (run ${b.runId})`).join(', ');
  const byRun = groupBy(busy, (b) => b.runId);
  return [...byRun].map(([runId, held]) => `${hostNames(held.map((b) => b.hostId))} (run ${runId})`).join('; ');
}
