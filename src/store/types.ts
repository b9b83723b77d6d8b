// The journal's records as the rest of nixfleet sees them (see CORE-003). Timestamps are epoch
// milliseconds. Ids: runs are `r<N>`, commands `c<N>`, never reused (even after retention).
import type { CommandStatus, RunStatus } from '../engine/status.js';
import type { RegistryDiff, RegistrySummary, TransportKind } from '../registry/types.js';

/** The process that owns a run and its commands; recovery compares it with what is alive. */
export interface Owner {
  readonly pid: number;
  readonly hostname: string;
  /** Process start time, so a reused pid is not mistaken for the owner. */
  readonly startedAt: number;
}

export interface HostRecord {
  readonly id: string;
  readonly hostname: string;
  readonly transport: TransportKind;
  readonly tags: readonly string[];
  readonly createdAt: number;
  readonly updatedAt: number;
}

export interface CommandRecord {
  readonly id: string;
  /** The pipeline run this command belongs to (`pipelines.id`). */
  readonly runId: string;
  readonly hostId: string;
  readonly op: string;
  /** 0-based stage index within the run. */
  readonly stage: number;
  readonly status: CommandStatus;
  /** 1 for the first try; goes up with each automatic retry. */
  readonly attempt: number;
  readonly createdAt: number;
  readonly startedAt: number | null;
  readonly finishedAt: number | null;
  readonly exitCode: number | null;
  readonly error: string | null;
  /** Absolute path of the output file under DATA_DIR/logs/, or null before any output. */
  readonly outputFile: string | null;
}

export interface RunRecord {
  readonly id: string;
  /** The pipeline id or op id that was applied. */
  readonly name: string;
  readonly targetKind: 'pipeline' | 'op';
  readonly hosts: readonly string[];
  /** Op ids, one per stage. */
  readonly stages: readonly string[];
  readonly currentStage: number;
  readonly status: RunStatus;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly registryHash: string;
  readonly retryOf: string | null;
  readonly cancelRequested: boolean;
  readonly owner: Owner;
}

export type EventLevel = 'debug' | 'info' | 'warn' | 'error';

export interface EventRecord {
  readonly id: number;
  readonly timestamp: number;
  /** e.g. `run`, `command`, `registry`, `recovery`, `retention`, `server`. */
  readonly category: string;
  readonly level: EventLevel;
  /** Who did it: `cli`, `dashboard`, `watch`, `system`, … */
  readonly actor: string;
  readonly hostId: string | null;
  readonly action: string;
  readonly message: string;
  readonly details: unknown;
}

/** One row of the `changes` table: `version` is its integer key, the State Sync version. */
export type Change =
  | { readonly type: 'host_added'; readonly host: HostRecord }
  | { readonly type: 'host_updated'; readonly host: HostRecord }
  | { readonly type: 'host_removed'; readonly hostId: string }
  | { readonly type: 'command_started'; readonly command: CommandRecord }
  | { readonly type: 'command_progress'; readonly command: CommandRecord; readonly tail?: string }
  | { readonly type: 'command_finished'; readonly command: CommandRecord }
  | { readonly type: 'pipeline_started'; readonly pipeline: RunRecord; readonly commands: readonly CommandRecord[] }
  | { readonly type: 'pipeline_updated'; readonly pipeline: RunRecord }
  | { readonly type: 'pipeline_finished'; readonly pipeline: RunRecord }
  | { readonly type: 'event'; readonly event: EventRecord }
  | { readonly type: 'registry_reloaded'; readonly registry: RegistrySummary; readonly diff: RegistryDiff };

export type ChangeType = Change['type'];

export interface VersionedChange {
  readonly version: number;
  readonly change: Change;
}
