// State Sync messages (see CORE-004). The one place these shapes are defined;
// the server and the dashboard client both follow it.
import type { RegistrySummary } from '../registry/types.js';
import type { Change, CommandRecord, EventRecord, HostRecord, RunRecord } from '../store/types.js';

/**
 * The protocol a client asks for with `?protocol=2` in the /ws URL. 2 carries the changes of one
 * read of the log in one `deltas` message; a client asking for anything else (a page loaded
 * before the change, which asked for none) is closed with PROTOCOL_MISMATCH_CLOSE (CORE-004).
 */
export const PROTOCOL_VERSION = 2;
/** Close code (application range) and reason for a client speaking another protocol. */
export const PROTOCOL_MISMATCH_CLOSE = {
  code: 4000,
  reason: `nixfleet State Sync protocol ${PROTOCOL_VERSION} is required: reload the page`,
} as const;

/** Told to every client when the journal cannot be read (its PostgreSQL server away): come back later (CORE-004). */
export const JOURNAL_UNAVAILABLE_CLOSE = { code: 1013, reason: 'the journal is unavailable; reconnect later' } as const;

export interface VersionedDelta {
  readonly version: number;
  readonly change: Change;
}

export interface SyncState {
  readonly hosts: readonly HostRecord[];
  readonly commands: readonly CommandRecord[];
  readonly pipelines: readonly RunRecord[];
  readonly events: readonly EventRecord[];
  readonly registry: RegistrySummary | null;
}

/**
 * `now` is the server's clock as it sends the message (ms since the epoch): the page times what is
 * running and counts a pause down against it, not against the browser's clock (CORE-004, the
 * server's clock).
 */
export type ServerMessage =
  | { readonly type: 'init'; readonly version: number; readonly state: SyncState; readonly now: number }
  | { readonly type: 'deltas'; readonly changes: readonly VersionedDelta[] }
  | { readonly type: 'sync'; readonly version: number; readonly now: number }
  | { readonly type: 'full_state'; readonly version: number; readonly state: SyncState; readonly now: number };

export type ClientMessage = { readonly type: 'get_state' };
