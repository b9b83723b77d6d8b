// The journal's schema, as ordered migrations keyed by `PRAGMA user_version` (see CORE-003).
// Migration N (1-based) moves a database from user_version N-1 to N. Never edit a shipped
// migration: append a new one, so every existing data directory upgrades the same way.

export const MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  ) WITHOUT ROWID;

  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    transport TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
  );

  CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    hosts TEXT NOT NULL,
    stages TEXT NOT NULL,
    current_stage INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    finished_at INTEGER,
    registry_hash TEXT NOT NULL,
    retry_of TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_hostname TEXT NOT NULL,
    owner_started_at INTEGER NOT NULL
  );
  CREATE INDEX pipelines_by_status ON pipelines(status);
  CREATE INDEX pipelines_by_created ON pipelines(created_at);
  CREATE INDEX pipelines_by_finished ON pipelines(finished_at) WHERE finished_at IS NOT NULL;

  CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    pipeline_id TEXT NOT NULL,
    host_id TEXT NOT NULL,
    op TEXT NOT NULL,
    stage INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL,
    started_at INTEGER,
    finished_at INTEGER,
    exit_code INTEGER,
    error TEXT,
    output_file TEXT,
    owner_pid INTEGER NOT NULL,
    owner_hostname TEXT NOT NULL,
    owner_started_at INTEGER NOT NULL
  );
  CREATE INDEX commands_by_pipeline ON commands(pipeline_id, stage);
  CREATE INDEX commands_by_host ON commands(host_id, created_at);
  -- Host locks and recovery only ever look at unfinished commands: keep that index tiny. It is
  -- keyed on finished_at (set once, by the final transition) rather than status, because SQLite
  -- rewrites an index whenever an UPDATE sets a column it mentions: PENDING -> VALIDATING ->
  -- EXECUTING leave it alone, and only the final step removes the entry.
  CREATE INDEX commands_unfinished ON commands(host_id) WHERE finished_at IS NULL;

  CREATE TABLE event_log (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    timestamp INTEGER NOT NULL,
    category TEXT NOT NULL,
    level TEXT NOT NULL,
    actor TEXT NOT NULL,
    host_id TEXT,
    action TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT
  );
  CREATE INDEX event_log_by_timestamp ON event_log(timestamp);

  -- AUTOINCREMENT: a version is never handed out twice, even after retention empties the tail.
  CREATE TABLE changes (
    version INTEGER PRIMARY KEY AUTOINCREMENT,
    type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    payload TEXT NOT NULL
  );

  INSERT INTO meta(key, value) VALUES ('next_run', '1'), ('next_command', '1');
  `,
  // CORE-008: a run's rollout (canary, batches, budget) and each command's batch, so `retry` can
  // resume a batched run where it stopped. NULL for runs journaled before rollouts existed.
  `
  ALTER TABLE pipelines ADD COLUMN rollout TEXT;
  ALTER TABLE commands ADD COLUMN batch INTEGER;
  `,
  // CORE-009: a rollback is its own command, linked to the one that failed; an op with an armed
  // rollback records the timer's delay and what became of it.
  `
  ALTER TABLE commands ADD COLUMN rollback_of TEXT;
  ALTER TABLE commands ADD COLUMN armed_ms INTEGER;
  ALTER TABLE commands ADD COLUMN armed_state TEXT;
  `,
  // CORE-011: what it takes to check and kill a command after its nixfleet died (the local
  // process group whose life spans the command's, its leader's start time, the remote group over
  // ssh), and kill requests from other processes: the whole run, or single hosts.
  `
  ALTER TABLE commands ADD COLUMN process_group INTEGER;
  ALTER TABLE commands ADD COLUMN process_started_at INTEGER;
  ALTER TABLE commands ADD COLUMN remote_group INTEGER;
  ALTER TABLE commands ADD COLUMN process_tag TEXT;
  ALTER TABLE pipelines ADD COLUMN kill_requested INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE pipelines ADD COLUMN kill_hosts TEXT NOT NULL DEFAULT '[]';
  `,
  // CORE-008: the wave a rollout is in, beside its stage (`RUNNING (batch 2/4, stage 1/2)`).
  // NULL until a run's first command starts, and for runs journaled before.
  `
  ALTER TABLE pipelines ADD COLUMN current_batch INTEGER;
  `,
  // CORE-008: a rollout waiting `pause` before its next wave: until when, and which wave. NULL
  // while it is not paused; the next wave's start and the run's end clear them.
  `
  ALTER TABLE pipelines ADD COLUMN paused_until INTEGER;
  ALTER TABLE pipelines ADD COLUMN paused_before INTEGER;
  `,
  // CORE-003: a change's version is its rowid, the newest version plus one, no longer
  // AUTOINCREMENT's counter, whose row in sqlite_sequence was one more page written by every
  // transition. Retention always keeps the newest changes, so a version is still never handed out
  // twice. The table is copied as it is: every version stays.
  `
  CREATE TABLE changes_by_rowid (
    version INTEGER PRIMARY KEY,
    type TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    payload TEXT NOT NULL
  );
  INSERT INTO changes_by_rowid (version, type, created_at, payload)
    SELECT version, type, created_at, payload FROM changes ORDER BY version;
  DROP TABLE changes;
  ALTER TABLE changes_by_rowid RENAME TO changes;
  `,
];

export const SCHEMA_VERSION = MIGRATIONS.length;
