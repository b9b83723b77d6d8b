// The PostgreSQL journal's schema (see CORE-012): the same tables and columns as the SQLite
// schema (schema.ts), in PostgreSQL's types, as ordered migrations. Migration N (1-based) moves a
// database from nixfleet_schema.version N-1 to N. Never edit a shipped migration: append one, and
// port every SQLite migration appended to schema.ts here, so both engines keep one contract.

export const PG_MIGRATIONS: readonly string[] = [
  `
  CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
  );

  CREATE TABLE hosts (
    id TEXT PRIMARY KEY,
    hostname TEXT NOT NULL,
    transport TEXT NOT NULL,
    tags TEXT NOT NULL DEFAULT '[]',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
  );

  -- seq plays SQLite's rowid: the order rows were inserted in.
  CREATE TABLE pipelines (
    id TEXT PRIMARY KEY,
    seq BIGSERIAL NOT NULL,
    name TEXT NOT NULL,
    target_kind TEXT NOT NULL,
    hosts TEXT NOT NULL,
    stages TEXT NOT NULL,
    current_stage INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    finished_at BIGINT,
    registry_hash TEXT NOT NULL,
    retry_of TEXT,
    cancel_requested INTEGER NOT NULL DEFAULT 0,
    actor TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_hostname TEXT NOT NULL,
    owner_started_at BIGINT NOT NULL
  );
  CREATE INDEX pipelines_by_status ON pipelines(status);
  CREATE INDEX pipelines_by_created ON pipelines(created_at);
  CREATE INDEX pipelines_by_finished ON pipelines(finished_at) WHERE finished_at IS NOT NULL;

  CREATE TABLE commands (
    id TEXT PRIMARY KEY,
    seq BIGSERIAL NOT NULL,
    pipeline_id TEXT NOT NULL,
    host_id TEXT NOT NULL,
    op TEXT NOT NULL,
    stage INTEGER NOT NULL,
    status TEXT NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    created_at BIGINT NOT NULL,
    started_at BIGINT,
    finished_at BIGINT,
    exit_code INTEGER,
    error TEXT,
    output_file TEXT,
    owner_pid INTEGER NOT NULL,
    owner_hostname TEXT NOT NULL,
    owner_started_at BIGINT NOT NULL
  );
  CREATE INDEX commands_by_pipeline ON commands(pipeline_id, stage);
  CREATE INDEX commands_by_host ON commands(host_id, created_at);
  CREATE INDEX commands_unfinished ON commands(host_id) WHERE finished_at IS NULL;

  CREATE TABLE event_log (
    id BIGSERIAL PRIMARY KEY,
    timestamp BIGINT NOT NULL,
    category TEXT NOT NULL,
    level TEXT NOT NULL,
    actor TEXT NOT NULL,
    host_id TEXT,
    action TEXT NOT NULL,
    message TEXT NOT NULL,
    details TEXT
  );
  CREATE INDEX event_log_by_timestamp ON event_log(timestamp);

  -- version comes from meta.change_head, bumped in the writing transaction under the write lock,
  -- so versions are contiguous and commit in order (a sequence would leave gaps on rollback).
  CREATE TABLE changes (
    version BIGINT PRIMARY KEY,
    type TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    payload TEXT NOT NULL
  );

  -- A run's owner holds a lease, renewed by heartbeat; times are the database server's (now()),
  -- so the controllers' clocks do not matter (see CORE-012).
  CREATE TABLE owners (
    owner_hostname TEXT NOT NULL,
    owner_pid INTEGER NOT NULL,
    owner_started_at BIGINT NOT NULL,
    lease_expires_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (owner_hostname, owner_pid, owner_started_at)
  );

  -- Command output lives here in chunks, so no shared filesystem is needed (see CORE-012).
  CREATE TABLE output_chunks (
    command_id TEXT NOT NULL,
    seq BIGSERIAL NOT NULL,
    data BYTEA NOT NULL,
    PRIMARY KEY (command_id, seq)
  );

  INSERT INTO meta(key, value) VALUES ('next_run', '1'), ('next_command', '1'), ('change_head', '0');
  `,
  // CORE-008: a run's rollout and each command's batch (schema.ts, the same migration).
  `
  ALTER TABLE pipelines ADD COLUMN rollout TEXT;
  ALTER TABLE commands ADD COLUMN batch INTEGER;
  `,
  // CORE-009: rollback commands and armed rollback timers (schema.ts, the same migration).
  `
  ALTER TABLE commands ADD COLUMN rollback_of TEXT;
  ALTER TABLE commands ADD COLUMN armed_ms BIGINT;
  ALTER TABLE commands ADD COLUMN armed_state TEXT;
  `,
  // CORE-011: a running command's processes, and kill requests (schema.ts, the same migration).
  `
  ALTER TABLE commands ADD COLUMN process_group INTEGER;
  ALTER TABLE commands ADD COLUMN process_started_at BIGINT;
  ALTER TABLE commands ADD COLUMN remote_group INTEGER;
  ALTER TABLE commands ADD COLUMN process_tag TEXT;
  ALTER TABLE pipelines ADD COLUMN kill_requested INTEGER NOT NULL DEFAULT 0;
  ALTER TABLE pipelines ADD COLUMN kill_hosts TEXT NOT NULL DEFAULT '[]';
  `,
  // CORE-008: the wave a rollout is in (schema.ts, the same migration).
  `
  ALTER TABLE pipelines ADD COLUMN current_batch INTEGER;
  `,
  // CORE-008: a rollout's pause before its next wave (schema.ts, the same migration).
  `
  ALTER TABLE pipelines ADD COLUMN paused_until BIGINT;
  ALTER TABLE pipelines ADD COLUMN paused_before INTEGER;
  `,
];

export const PG_SCHEMA_VERSION = PG_MIGRATIONS.length;
