// The journal's operations that only read (pg-core.ts): the worker asks one again after a lost
// session (pg-worker-entry.ts), since it changed nothing, and a permission refused to one is a
// reader's missing GRANT rather than a write that failed mid-work (postgres-journal.ts; CORE-012).
import type { PgOperations } from './pg-core.js';

export const READ_OPERATIONS: ReadonlySet<keyof PgOperations> = new Set<keyof PgOperations>([
  'listHosts',
  'getRun',
  'listRuns',
  'getCommand',
  'listCommands',
  'outputSize',
  'readOutput',
  'listEvents',
  'currentRegistry',
  'lastPrune',
  'journalId',
  'version',
  'changesSince',
  'oldestVersion',
]);
