// State Sync messages (see CORE-004). The one place these shapes are defined;
// the server and the dashboard client both follow it.
import type { RegistrySummary } from '../registry/types.js';
import type { Change, CommandRecord, EventRecord, HostRecord, RunRecord } from '../store/types.js';

export interface SyncState {
  readonly hosts: readonly HostRecord[];
  readonly commands: readonly CommandRecord[];
  readonly pipelines: readonly RunRecord[];
  readonly events: readonly EventRecord[];
  readonly registry: RegistrySummary | null;
}

export type ServerMessage =
  | { readonly type: 'init'; readonly version: number; readonly state: SyncState }
  | { readonly type: 'delta'; readonly version: number; readonly change: Change }
  | { readonly type: 'sync'; readonly version: number }
  | { readonly type: 'full_state'; readonly version: number; readonly state: SyncState };

export type ClientMessage = { readonly type: 'get_state' };
