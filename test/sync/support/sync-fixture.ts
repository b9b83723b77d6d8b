// A real server over a real journal in a temp data directory, plus a writer in another process.
import { join } from 'node:path';
import { execa } from 'execa';
import { openJournal } from '../../../src/store/journal.js';
import type { Journal } from '../../../src/store/types.js';
import { type SyncServer, type SyncServerOptions, startSyncServer } from '../../../src/sync/sync-server.js';
import { makeTempDir } from '../../support/cli.js';

export const TOKEN = 'test-token-0123456789';
const WRITER = join(import.meta.dirname, 'journal-writer.mjs');

export interface Fixture {
  readonly dataDir: string;
  /** The PostgreSQL store (CORE-012), or undefined for SQLite in dataDir. */
  readonly store: string | undefined;
  journal: Journal;
  server: SyncServer;
  restart(options?: Partial<SyncServerOptions>): Promise<void>;
  close(): Promise<void>;
}

/** A run of `stages` over `hosts` with every command PENDING: the starting state of a page or client test. */
export function createPendingRun(journal: Journal, hosts: readonly string[], stages: readonly string[] = ['pull']) {
  return journal.createRun({
    name: 'deploy',
    targetKind: 'pipeline',
    hosts: [...hosts],
    stages: [...stages],
    commands: stages.flatMap((op, stage) => hosts.map((hostId) => ({ stage, hostId, op }))),
    registryHash: 'test',
    actor: 'test',
  });
}

/** Which store each fixture's data directory uses, so writers in other processes open the same one. */
const stores = new Map<string, string>();

export async function startFixture(
  options: Partial<SyncServerOptions> = {},
  dataDir = makeTempDir(),
  store?: string,
): Promise<Fixture> {
  if (store !== undefined) stores.set(dataDir, store);
  const open = async (port: number, more: Partial<SyncServerOptions>) => {
    const journal = openJournal(dataDir, store === undefined ? {} : { store });
    const server = await startSyncServer({ journal, token: TOKEN, port, pollIntervalMs: 20, ...options, ...more });
    return { journal, server };
  };
  const first = await open(0, {});
  const fixture: Fixture = {
    dataDir,
    store,
    ...first,
    async restart(more = {}) {
      const port = fixture.server.port;
      await fixture.close();
      Object.assign(fixture, await open(port, more));
    },
    async close() {
      await fixture.server.close();
      fixture.journal.close();
    },
  };
  return fixture;
}

/** Runs the writer in its own process and waits for it; returns its stdout. */
export async function writeFromAnotherProcess(dataDir: string, ...args: string[]): Promise<string> {
  const store = stores.get(dataDir);
  const env = store === undefined ? {} : { NIXFLEET_DATABASE_URL: store };
  const result = await execa('node', [WRITER, dataDir, ...args], { timeout: 90_000, env });
  return String(result.stdout).trim();
}
