// The journal's records as the rest of nixfleet sees them (see CORE-003). Timestamps are epoch
// milliseconds. Ids: runs are `r<N>`, commands `c<N>`, never reused (even after retention).
import type { ArmedState } from '../domain/armed-state.js';
import type { CommandStatus, RunStatus } from '../domain/status.js';
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
  /**
   * Where the output is stored, or null before any output: the absolute path of DATA_DIR/logs/<id>.log
   * on SQLite, `postgres:<id>` on PostgreSQL (chunks in the database). Read it with Journal.readOutput.
   */
  readonly outputFile: string | null;
  /**
   * Set only when the row's `output_file` names a place outside DATA_DIR/logs/ (a damaged or
   * hand-edited journal): that path as stored. `outputFile` is then null, and nothing there is
   * ever read or removed (CORE-003, retention).
   */
  readonly outputOutside?: string;
  /** The rollout batch the command ran in (0: canary), or null (see CORE-008). */
  readonly batch: number | null;
  /** For a rollback, the command whose failure it undoes (see CORE-009); null otherwise. */
  readonly rollbackOf: string | null;
  /** For an op run under an armed rollback timer: its delay and what became of it (CORE-009). */
  readonly armed: { readonly delayMs: number; readonly state: ArmedState } | null;
}

/** A running command's processes as the journal keeps them (see CORE-011). */
export interface CommandProcessRecord {
  /** A local process group whose life spans the command's: its shell, or its ssh client. */
  readonly group: number;
  readonly startedAt: number | null;
  readonly remoteGroup?: number;
  readonly tag?: string;
}

export interface RunRecord {
  readonly id: string;
  /** The pipeline id or op id that was applied. */
  readonly name: string;
  readonly targetKind: 'pipeline' | 'op';
  readonly hosts: readonly string[];
  /** Op ids, one per stage. */
  readonly stages: readonly string[];
  /** The stage the run is in: in a rollout, the stage its current wave is in. */
  readonly currentStage: number;
  /** The rollout wave the run is in (0: canary; see CORE-008); null before its first command. */
  readonly currentBatch: number | null;
  /**
   * While a rollout waits `pause` before its next wave (CORE-008): when the wait ends (epoch ms)
   * and the wave that starts then. Null otherwise, and always once the run ended.
   */
  readonly pause: { readonly until: number; readonly nextBatch: number } | null;
  readonly status: RunStatus;
  readonly createdAt: number;
  readonly finishedAt: number | null;
  readonly registryHash: string;
  readonly retryOf: string | null;
  readonly cancelRequested: boolean;
  /** Running commands must be killed, not waited for (`cancel --kill`, see CORE-011). */
  readonly killRequested: boolean;
  /** Hosts whose running command must be killed while the run goes on (the dashboard's per-host Kill). */
  readonly killHosts: readonly string[];
  readonly owner: Owner;
  /** How the hosts went through the stages (see CORE-008); null for runs from before rollouts. */
  readonly rollout: RolloutRecord | null;
}

/** How a run's hosts went through its stages (see CORE-008), journaled so `retry` can resume it. */
export interface RolloutRecord {
  readonly strategy: 'stages' | 'batches';
  /** The hosts that went first, alone (batch 0); empty without a canary. */
  readonly canary: readonly string[];
  /** Batches after the canary (numbered from 1). */
  readonly batches: number;
  /** Most hosts that may fail before the rest is SKIPPED; null: no budget. */
  readonly maxFailures: number | null;
  /** The budget as given (`2`, `20%`), for display. */
  readonly maxFailuresSpec: string | null;
  readonly pauseMs: number;
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
  /** Retention deleted these runs and their commands (CORE-003, CORE-004). */
  | { readonly type: 'pipelines_removed'; readonly runIds: readonly string[] }
  | { readonly type: 'event'; readonly event: EventRecord }
  | { readonly type: 'registry_reloaded'; readonly registry: RegistrySummary; readonly diff: RegistryDiff };

export type ChangeType = Change['type'];

export interface VersionedChange {
  readonly version: number;
  readonly change: Change;
}

/** A run to create: its PENDING commands claim the target hosts (see CORE-003, locks). */
export interface NewRun {
  readonly name: string;
  readonly targetKind: 'pipeline' | 'op';
  readonly hosts: readonly string[];
  readonly stages: readonly string[];
  /** Every command of the run, created PENDING in the same transaction. */
  readonly commands: readonly {
    readonly stage: number;
    readonly hostId: string;
    readonly op: string;
    readonly batch?: number;
  }[];
  readonly registryHash: string;
  readonly rollout?: RolloutRecord;
  readonly retryOf?: string | null;
  /**
   * The first retry of `retryOf` only (`retry` without --force, the dashboard's Retry): refused
   * with AlreadyRetriedError when that run has a retry already, in the transaction that creates
   * this one (CORE-002, retry).
   */
  readonly firstRetry?: boolean;
  /** Who started it (`cli`, `dashboard`, `watch`), for the event log. */
  readonly actor: string;
}

export interface BusyHost {
  readonly hostId: string;
  readonly runId: string;
  readonly commandId: string;
}

export interface CommandPatch {
  readonly exitCode?: number | null;
  readonly error?: string | null;
  readonly attempt?: number;
}

export interface NewEvent {
  readonly category: string;
  readonly level: EventLevel;
  readonly actor?: string;
  readonly hostId?: string | null;
  readonly action: string;
  readonly message: string;
  readonly details?: unknown;
}

export interface OutputSink {
  write(chunk: string | Uint8Array): void;
  /** Flushes and closes the file. */
  close(): Promise<void>;
}

export interface PruneResult {
  readonly commands: number;
  readonly pipelines: number;
  readonly events: number;
  readonly changes: number;
  readonly outputFiles: number;
}

/**
 * The journal: the single writer of state (specs/README.md, decision 2). Every mutation runs in one
 * transaction that also appends its Change; the change's key is the new state version. Two engines
 * keep this contract: SQLite (embedded, the default) and PostgreSQL (see CORE-012).
 */
export interface ListRunsOptions {
  readonly limit?: number;
  /** Only RUNNING runs. */
  readonly activeOnly?: boolean;
  /** Only the runs that retried this one (CORE-002, retry). */
  readonly retryOf?: string;
}

export interface Journal {
  readonly dataDir: string;
  /** The SQLite file, or the PostgreSQL URL without its password. */
  readonly dbPath: string;
  readonly logsDir: string;
  /**
   * Set when the journal is a read-only in-memory copy (`readOnly` open of a full or read-only
   * disk): why, for the CLI to say so. Writes to such a journal are lost (see CORE-003).
   */
  snapshotReason?: string;
  readonly owner: Owner;
  /**
   * The journal's own id (CORE-003, the journal's id): 32 random hex digits, made once by the
   * first open that may write (a new journal's, or an older one's first since ids exist) and
   * never changed. Every handle on one SQLite data directory, and every controller on one
   * PostgreSQL database, has the same id; another data directory or database has another. An
   * armed rollback timer names it, so a timer takes over only those of its own journal (CORE-009).
   * Empty on a `readOnly` open of a journal that has none yet: such an open writes nothing.
   */
  readonly id: string;

  /** Upserts the registry's hosts (host_added / host_updated); hosts no longer declared are removed (host_removed). */
  syncHosts(
    hosts: readonly { id: string; hostname: string; transport: TransportKind; tags: readonly string[] }[],
  ): void;
  listHosts(): HostRecord[];

  /** Claims the hosts and creates the run RUNNING at stage 0 with all its commands PENDING (pipeline_started). Throws HostsBusyError. */
  createRun(run: NewRun): { run: RunRecord; commands: CommandRecord[] };
  /**
   * The run moved on (pipeline_updated): to a later stage of its wave, or to a later wave
   * (CORE-008), whose stage may be an earlier one. Anything else throws RangeError.
   */
  advanceRun(runId: string, stage: number, batch?: number): RunRecord;
  /**
   * The rollout waits until `until` before wave `nextBatch` (pipeline_updated, CORE-008). The
   * next advanceRun, and finishRun, end the pause. `nextBatch` must be a later wave than the
   * run's; anything else throws RangeError.
   */
  pauseRun(runId: string, until: number, nextBatch: number): RunRecord;
  /** Ends the run (pipeline_finished). */
  finishRun(runId: string, status: RunStatus): RunRecord;
  /**
   * Marks the run for cancellation; the owning process notices (pipeline_updated). Works from any
   * process. `kill`: running commands are killed too; with `hostId`, only that host's running
   * command is killed and the run goes on (CORE-011).
   */
  requestCancel(runId: string, options?: { kill?: boolean; hostId?: string }): RunRecord;
  getRun(runId: string): RunRecord | undefined;
  /** Newest first; default limit 50. */
  listRuns(options?: ListRunsOptions): RunRecord[];
  /** How many runs the journal holds (`runs` says how many it did not list). */
  countRuns(): number;

  /** A legal step of the status machine, or it throws IllegalTransitionError (command_started / command_progress / command_finished). */
  transitionCommand(commandId: string, to: CommandStatus, patch?: CommandPatch): CommandRecord;
  /**
   * Several legal steps in one transaction, each with its change, as `transitionCommand` one after
   * another would make them: VALIDATING then EXECUTING when there is nothing to check in between.
   * With `process`, the command's processes are recorded in the same transaction, as
   * `recordProcess` would: such a command becomes EXECUTING as its start gate is about to open.
   */
  transitionCommandSteps(
    commandId: string,
    steps: readonly CommandStatus[],
    process?: CommandProcessRecord,
  ): CommandRecord[];
  /** A live tail of output (command_progress). Callers throttle. */
  reportProgress(commandId: string, tail: string): void;
  getCommand(commandId: string): CommandRecord | undefined;
  /** With runId: in stage order, as created. Otherwise newest first. Default limit 1000. */
  listCommands(options?: { runId?: string; hostId?: string; activeOnly?: boolean; limit?: number }): CommandRecord[];
  /**
   * A PENDING rollback command for `commandId`, in its run, host, stage and op (CORE-009). Made
   * while the failed command still holds the host, so no other run can claim it in between.
   */
  addRollback(commandId: string): CommandRecord;
  /** Records an armed rollback timer's delay and state on its op's command (command_progress). */
  setArmed(commandId: string, delayMs: number, state: ArmedState): CommandRecord;
  /** Opens the command's output for streaming (a log file on SQLite, chunks on PostgreSQL) and records it in commands.output_file. */
  openOutput(commandId: string): OutputSink;
  /** Bytes of output stored so far (0 before any). */
  outputSize(commandId: string): number;
  /** The stored output, bytes [start, end) (default: all of it); empty before any output. */
  readOutput(commandId: string, range?: { readonly start?: number; readonly end?: number }): Buffer;
  /** Records the processes of a running command, for recovery after a crash (CORE-011). No change is appended. */
  recordProcess(commandId: string, process: CommandProcessRecord): void;

  logEvent(event: NewEvent): EventRecord;
  /** Newest first; default limit 100. */
  listEvents(options?: { limit?: number }): EventRecord[];

  /** Stores the new current registry summary and appends registry_reloaded. */
  recordRegistry(summary: RegistrySummary, diff: RegistryDiff): void;
  currentRegistry(): RegistrySummary | null;

  /** The current state version: the key of the last change (0 for a new journal). */
  version(): number;
  /** Changes with version > `version`, in order. */
  changesSince(version: number, limit?: number): VersionedChange[];
  /** The oldest version still kept; a client behind it needs the full state. */
  oldestVersion(): number;

  /** Marks what dead owners left as ORPHANED, with a warn event. Never touches a live owner's work. */
  recoverOrphans(): { runs: number; commands: number };
  /**
   * Retention now (CORE-003). `commandRetentionMs` / `eventRetentionMs` override the
   * NIXFLEET_CMD_RETENTION_DAYS / NIXFLEET_LOG_RETENTION_DAYS policy (`nixfleet prune --older-than`).
   */
  prune(options?: { now?: number; commandRetentionMs?: number; eventRetentionMs?: number }): PruneResult;
  /** Retention if it last ran (in any process) at least `everyMs` ago (default a day). */
  pruneIfDue(everyMs?: number): PruneResult | null;
  close(): void;
}
