// CORE-008 in the journal: a run keeps its rollout and each command its batch, across re-opening
// and through the change log; a database from before rollouts upgrades in place and its runs
// read back with no rollout and no batches.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { openJournal } from '../../src/store/journal.js';
import { MIGRATIONS } from '../../src/store/schema.js';
import type { RolloutRecord } from '../../src/store/types.js';
import { ENGINES } from './engines.js';
import { newRun, tempDataDir } from './new-run.js';

const ROLLOUT: RolloutRecord = {
  strategy: 'batches',
  canary: ['web1'],
  batches: 1,
  maxFailures: 1,
  maxFailuresSpec: '50%',
  pauseMs: 30_000,
};

describe.each(ENGINES)('rollouts in the journal on $name', (engine) => {
  it('keeps the run’s rollout and each command’s batch, also after re-opening and in pipeline_started', () => {
    const store = engine.newStore();
    const journal = engine.open({}, store);
    const base = newRun(['web1', 'web2', 'web3'], ['pull', 'switch']);
    const { run } = journal.createRun({
      ...base,
      rollout: ROLLOUT,
      commands: base.commands.map((c) => ({ ...c, batch: c.hostId === 'web1' ? 0 : 1 })),
    });
    const started = journal.changesSince(0).find((c) => c.change.type === 'pipeline_started')!.change;
    expect(started.type === 'pipeline_started' && started.pipeline.rollout).toEqual(ROLLOUT);
    journal.close();

    const again = engine.open({}, store);
    expect(again.getRun(run.id)?.rollout).toEqual(ROLLOUT);
    expect(again.listCommands({ runId: run.id }).map((c) => `${c.hostId}/${c.stage}:${c.batch}`)).toEqual([
      'web1/0:0',
      'web2/0:1',
      'web3/0:1',
      'web1/1:0',
      'web2/1:1',
      'web3/1:1',
    ]);
    const plain = again.createRun(newRun(['db1']));
    expect(plain.run.rollout).toBeNull();
    expect(plain.commands[0]!.batch).toBeNull();
    again.close();
  });
});

describe('rollouts in the SQLite journal', () => {
  it('a journal from before rollouts upgrades in place; its runs have no rollout and no batches', () => {
    const dataDir = tempDataDir();
    mkdirSync(dataDir, { recursive: true });
    const before = MIGRATIONS.findIndex((m) => m.includes('ADD COLUMN rollout'));
    expect(before).toBeGreaterThan(0);
    const db = new Database(join(dataDir, 'nixfleet.db'));
    db.pragma('journal_mode = WAL');
    for (const migration of MIGRATIONS.slice(0, before)) db.exec(migration);
    db.pragma(`user_version = ${before}`);
    db.exec(`INSERT INTO pipelines (id, name, target_kind, hosts, stages, status, created_at, finished_at,
        registry_hash, actor, owner_pid, owner_hostname, owner_started_at)
      VALUES ('r7', 'deploy', 'pipeline', '["web1"]', '["pull"]', 'COMPLETE', 1, 2, 'h', 'cli', 1, 'x', 1);
      INSERT INTO commands (id, pipeline_id, host_id, op, stage, status, created_at, finished_at,
        owner_pid, owner_hostname, owner_started_at)
      VALUES ('c9', 'r7', 'web1', 'pull', 0, 'SUCCESS', 1, 2, 1, 'x', 1);`);
    db.close();

    const journal = openJournal(dataDir);
    expect(journal.getRun('r7')).toMatchObject({ status: 'COMPLETE', rollout: null });
    expect(journal.getCommand('c9')).toMatchObject({ status: 'SUCCESS', batch: null });
    journal.close();
  });
});
