// The journal's rows as SQLite returns them (snake_case) and their records (camelCase).
import { resolve, sep } from 'node:path';
import type { ArmedState } from '../domain/armed-state.js';
import { COMMAND_STATUSES, type CommandStatus, RUN_STATUSES, type RunStatus } from '../domain/status.js';
import type { TransportKind } from '../registry/types.js';
import type { CommandRecord, EventLevel, EventRecord, HostRecord, Owner, RolloutRecord, RunRecord } from './types.js';

export interface HostRow {
  id: string;
  hostname: string;
  transport: string;
  tags: string;
  created_at: number;
  updated_at: number;
}

export interface RunRow {
  id: string;
  name: string;
  target_kind: string;
  hosts: string;
  stages: string;
  current_stage: number;
  current_batch?: number | null;
  paused_until?: number | null;
  paused_before?: number | null;
  status: string;
  created_at: number;
  finished_at: number | null;
  registry_hash: string;
  retry_of: string | null;
  rollout?: string | null;
  cancel_requested: number;
  kill_requested: number;
  kill_hosts: string;
  actor: string;
  owner_pid: number;
  owner_hostname: string;
  owner_started_at: number;
}

export interface CommandRow {
  id: string;
  pipeline_id: string;
  host_id: string;
  op: string;
  stage: number;
  status: string;
  attempt: number;
  created_at: number;
  started_at: number | null;
  finished_at: number | null;
  exit_code: number | null;
  error: string | null;
  output_file: string | null;
  batch?: number | null;
  owner_pid: number;
  owner_hostname: string;
  owner_started_at: number;
  rollback_of: string | null;
  armed_ms: number | null;
  armed_state: string | null;
  process_group: number | null;
  process_started_at: number | null;
  remote_group: number | null;
  process_tag: string | null;
}

/**
 * The commands table's columns, in the order `commandRowOf` takes them: its hot reads (the
 * engine's status steps, CORE-003) name them and read each row as an array.
 */
export const COMMAND_COLUMNS = `id, pipeline_id, host_id, op, stage, status, attempt, created_at, started_at,
  finished_at, exit_code, error, output_file, batch, owner_pid, owner_hostname, owner_started_at, rollback_of,
  armed_ms, armed_state, process_group, process_started_at, remote_group, process_tag`;

// biome-ignore format: the columns' types, in COMMAND_COLUMNS's order
type CommandValues = [
  string, string, string, string, number, string, number, number, number | null,
  number | null, number | null, string | null, string | null, number | null, number, string, number, string | null,
  number | null, string | null, number | null, number | null, number | null, string | null,
];

/**
 * A row read raw with COMMAND_COLUMNS, as the object a plain read makes. A literal: its objects
 * all share one shape, where setting the names one by one made each read ten times as costly.
 */
export function commandRowOf(values: unknown): CommandRow {
  const v = values as CommandValues;
  return {
    id: v[0],
    pipeline_id: v[1],
    host_id: v[2],
    op: v[3],
    stage: v[4],
    status: v[5],
    attempt: v[6],
    created_at: v[7],
    started_at: v[8],
    finished_at: v[9],
    exit_code: v[10],
    error: v[11],
    output_file: v[12],
    batch: v[13],
    owner_pid: v[14],
    owner_hostname: v[15],
    owner_started_at: v[16],
    rollback_of: v[17],
    armed_ms: v[18],
    armed_state: v[19],
    process_group: v[20],
    process_started_at: v[21],
    remote_group: v[22],
    process_tag: v[23],
  };
}

export interface EventRow {
  id: number;
  timestamp: number;
  category: string;
  level: string;
  actor: string;
  host_id: string | null;
  action: string;
  message: string;
  details: string | null;
}

export function toHostRecord(row: HostRow): HostRecord {
  return {
    id: row.id,
    hostname: row.hostname,
    transport: row.transport as TransportKind,
    tags: jsonColumn('hosts', row.id, 'tags', row.tags) as string[],
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

export function ownerOf(row: RunRow | CommandRow): Owner {
  return { pid: row.owner_pid, hostname: row.owner_hostname, startedAt: row.owner_started_at };
}

export function toRunRecord(row: RunRow): RunRecord {
  return {
    id: row.id,
    name: row.name,
    targetKind: row.target_kind as RunRecord['targetKind'],
    hosts: jsonColumn('pipelines', row.id, 'hosts', row.hosts) as string[],
    stages: jsonColumn('pipelines', row.id, 'stages', row.stages) as string[],
    currentStage: row.current_stage,
    currentBatch: row.current_batch ?? null,
    pause:
      row.paused_until === null || row.paused_until === undefined
        ? null
        : { until: row.paused_until, nextBatch: row.paused_before ?? 0 },
    status: statusColumn<RunStatus>('pipelines', row.id, row.status, RUN_STATUS),
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    registryHash: row.registry_hash,
    retryOf: row.retry_of,
    cancelRequested: row.cancel_requested !== 0,
    killRequested: row.kill_requested !== 0,
    killHosts: JSON.parse(row.kill_hosts) as string[],
    owner: ownerOf(row),
    rollout: row.rollout ? (JSON.parse(row.rollout) as RolloutRecord) : null,
  };
}

/** `output_file` is stored relative to the data directory so a moved data directory still works. */
export function toCommandRecord(row: CommandRow, dataDir: string): CommandRecord {
  const outputFile = row.output_file === null ? null : outputFileIn(dataDir, row.output_file);
  return {
    id: row.id,
    runId: row.pipeline_id,
    hostId: row.host_id,
    op: row.op,
    stage: row.stage,
    status: statusColumn<CommandStatus>('commands', row.id, row.status, COMMAND_STATUS),
    attempt: row.attempt,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    exitCode: row.exit_code,
    error: row.error,
    outputFile,
    ...(row.output_file !== null && outputFile === null ? { outputOutside: row.output_file } : {}),
    batch: row.batch ?? null,
    rollbackOf: row.rollback_of ?? null,
    armed:
      row.armed_ms === null || row.armed_ms === undefined
        ? null
        : { delayMs: row.armed_ms, state: (row.armed_state ?? 'unknown') as ArmedState },
  };
}

export function toEventRecord(row: EventRow): EventRecord {
  return {
    id: row.id,
    timestamp: row.timestamp,
    category: row.category,
    level: row.level as EventLevel,
    actor: row.actor,
    hostId: row.host_id,
    action: row.action,
    message: row.message,
    details: row.details === null ? null : jsonColumn('event_log', String(row.id), 'details', row.details),
  };
}

/** Where command output files live, inside the data directory. */
export const LOGS_DIR = 'logs';

/**
 * An output file's absolute path, or null when the row names a place outside the data directory's
 * `logs/` (a damaged or hand-edited journal, or a row another controller wrote): nothing outside
 * is ever read, served or deleted for it (CORE-003). `prune` once removed `/etc/passwd` for a row
 * whose `output_file` was `../../../../etc/passwd`.
 */
export function outputFileIn(dataDir: string, path: string): string | null {
  const full = resolve(dataDir, path);
  return full.startsWith(`${resolve(dataDir, LOGS_DIR)}${sep}`) ? full : null;
}

/** CorruptRowError's code, which also crosses the PostgreSQL worker's thread (CORE-012). */
export const CORRUPT_ROW = 'NIXFLEET_CORRUPT_ROW';

/** A damaged row: what was found, for the journal to report with the database's path (CORE-003). */
export class CorruptRowError extends Error {
  readonly code = CORRUPT_ROW;
  constructor(table: string, id: string, column: string) {
    super(`row ${id} of table ${table} has an unreadable ${column}`);
    this.name = 'CorruptRowError';
  }
}

const RUN_STATUS: ReadonlySet<string> = new Set(RUN_STATUSES);
const COMMAND_STATUS: ReadonlySet<string> = new Set(COMMAND_STATUSES);

/** A status this nixfleet knows; any other (a hand-edited row) is a damaged row, never acted on. */
function statusColumn<T extends string>(table: string, id: string, status: string, known: ReadonlySet<string>): T {
  if (!known.has(status)) throw new CorruptRowError(table, id, 'status');
  return status as T;
}

function jsonColumn(table: string, id: string, column: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    throw new CorruptRowError(table, id, column);
  }
}
