// CORE-003 retention with a driven clock: finished runs (with their commands and output files)
// after 30 days, events after 7, env overrides, the change log's floor, and once a day at most.

import { describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { CHANGES_KEPT, DAY_MS } from '../../src/store/retention.js';
import type { Journal } from '../../src/store/types.js';
import { psql } from '../support/postgres.js';
import { ENGINES, outputStored } from './engines.js';
import { fakeClock, newRun } from './new-run.js';

async function finishedRun(journal: Journal, host: string, output = 'done\n') {
  const { run, commands } = journal.createRun(newRun([host]));
  const id = commands[0]!.id;
  journal.transitionCommand(id, 'VALIDATING');
  journal.transitionCommand(id, 'EXECUTING');
  const sink = journal.openOutput(id);
  sink.write(output);
  await sink.close();
  journal.transitionCommand(id, 'SUCCESS', { exitCode: 0 });
  journal.finishRun(run.id, 'COMPLETE');
  return { runId: run.id, commandId: id, outputFile: journal.getCommand(id)!.outputFile! };
}

describe.each(ENGINES)('retention on $name', (engine) => {
  it('removes finished runs older than 30 days with their commands and output files, and events older than 7', async () => {
    const clock = fakeClock();
    const store = engine.newStore();
    const journal = engine.open({ now: clock.now, env: {} }, store);
    const old = await finishedRun(journal, 'web1');
    journal.logEvent({ category: 'test', level: 'info', action: 'old', message: 'old event' });
    clock.advance(25 * DAY_MS);
    const recent = await finishedRun(journal, 'web1');
    journal.logEvent({ category: 'test', level: 'info', action: 'recent', message: 'recent event' });
    // Still running after 40 days: never pruned, whatever its age.
    const running = journal.createRun(newRun(['web2']));
    clock.advance(6 * DAY_MS);

    expect(outputStored(store, old.commandId, old.outputFile)).toBe(true);
    const result = journal.prune();
    expect(result).toMatchObject({ pipelines: 1, commands: 1, outputFiles: 1, events: 1 });
    expect(journal.getRun(old.runId)).toBeUndefined();
    expect(journal.getCommand(old.commandId)).toBeUndefined();
    expect(outputStored(store, old.commandId, old.outputFile)).toBe(false);
    expect(outputStored(store, recent.commandId, recent.outputFile)).toBe(true);
    expect(journal.getRun(recent.runId)?.status).toBe('COMPLETE');
    expect(journal.getRun(running.run.id)?.status).toBe('RUNNING');
    const messages = journal.listEvents().map((e) => e.message);
    expect(messages).toContain('recent event');
    expect(messages).not.toContain('old event');
    expect(journal.listEvents({ limit: 1 })[0]).toMatchObject({ category: 'retention', action: 'pruned' });

    clock.advance(100 * DAY_MS);
    journal.transitionCommand(running.commands[0]!.id, 'CANCELLED');
    journal.finishRun(running.run.id, 'CANCELLED');
    // Just finished: kept for 30 days from its end, not its start.
    expect(journal.prune()).toMatchObject({ pipelines: 1, commands: 1 });
    expect(journal.listRuns().map((r) => r.id)).toEqual([running.run.id]);
    journal.close();
  });

  it('follows NIXFLEET_CMD_RETENTION_DAYS and NIXFLEET_LOG_RETENTION_DAYS, and an explicit age over both', async () => {
    const clock = fakeClock();
    const env = { NIXFLEET_CMD_RETENTION_DAYS: '2', NIXFLEET_LOG_RETENTION_DAYS: '0.5' };
    const store = engine.newStore();
    const journal = engine.open({ now: clock.now, env }, store);
    const a = await finishedRun(journal, 'web1');
    journal.logEvent({ category: 'test', level: 'info', action: 'a', message: 'a' });
    clock.advance(DAY_MS);
    const b = await finishedRun(journal, 'web1');
    clock.advance(DAY_MS + 1);
    expect(journal.prune()).toMatchObject({ pipelines: 1, events: 1 });
    expect(journal.getRun(a.runId)).toBeUndefined();
    expect(journal.getRun(b.runId)).toBeDefined();
    expect(journal.prune({ commandRetentionMs: 0 })).toMatchObject({ pipelines: 1, outputFiles: 1 });
    expect(outputStored(store, a.commandId, a.outputFile)).toBe(false);
    expect(outputStored(store, b.commandId, b.outputFile)).toBe(false);
    journal.close();
  });

  it('with events kept 0 days, its own summary of the last prune is removed without a new one', () => {
    // Counted, each summary removed made the next one: `serve` pruned and said so on every tick.
    const clock = fakeClock();
    const journal = engine.open({ now: clock.now, env: { NIXFLEET_LOG_RETENTION_DAYS: '0' } });
    journal.logEvent({ category: 'test', level: 'info', action: 'a', message: 'a' });
    clock.advance(1000);
    expect(journal.prune()).toMatchObject({ events: 1 });
    expect(journal.listEvents().map((e) => e.action)).toEqual(['pruned']);
    for (let tick = 0; tick < 3; tick++) {
      clock.advance(1000);
      expect(journal.prune()).toMatchObject({ pipelines: 0, events: 0 });
    }
    expect(journal.listEvents()).toEqual([]);
    journal.close();
  });

  it('an unreadable env value falls back to the default and says so in a warn event', async () => {
    const clock = fakeClock();
    const journal = engine.open({ now: clock.now, env: { NIXFLEET_CMD_RETENTION_DAYS: 'forever' } });
    const run = await finishedRun(journal, 'web1');
    clock.advance(29 * DAY_MS);
    expect(journal.prune().pipelines).toBe(0);
    clock.advance(2 * DAY_MS);
    expect(journal.prune().pipelines).toBe(1);
    expect(journal.getRun(run.runId)).toBeUndefined();
    const warnings = journal.listEvents().filter((e) => e.level === 'warn' && e.category === 'retention');
    expect(warnings[0]?.message).toMatch(/NIXFLEET_CMD_RETENTION_DAYS=forever/);
    journal.close();
  });

  it('keeps the newest changes and every change of the last day; versions are never reused', () => {
    const clock = fakeClock();
    const store = engine.newStore();
    const journal = engine.open({ now: clock.now, env: {} }, store);
    const total = CHANGES_KEPT + 500;
    // Written in one transaction through a second connection: the journal's own appends are
    // covered elsewhere, and 10,500 separate commits would only make this test slow.
    if (store.store === undefined) {
      const db = new Database(journal.dbPath);
      const insert = db.prepare("INSERT INTO changes (type, created_at, payload) VALUES ('event', ?, ?)");
      db.transaction(() => {
        for (let i = 0; i < total; i++) insert.run(clock.now(), JSON.stringify({ type: 'event', n: i }));
      })();
      db.close();
    } else {
      psql(
        store.store,
        `BEGIN;
         INSERT INTO changes (version, type, created_at, payload)
           SELECT n, 'event', ${clock.now()}, '{"type":"event"}' FROM generate_series(1, ${total}) AS n;
         UPDATE meta SET value = '${total}' WHERE key = 'change_head';
         COMMIT;`,
      );
    }
    expect(journal.version()).toBe(total);
    clock.advance(DAY_MS - 1);
    expect(journal.prune().changes).toBe(0);
    clock.advance(2);
    const pruned = journal.prune();
    expect(pruned.changes).toBe(500);
    expect(journal.oldestVersion()).toBe(501);
    // The prune wrote its own event (a change); versions continue from the highest ever given.
    expect(journal.version()).toBe(total + 1);
    expect(journal.changesSince(0, 1)[0]!.version).toBe(501);
    journal.close();
  });

  it('pruneIfDue runs at most once a day, across re-opens', () => {
    const clock = fakeClock();
    const store = engine.newStore();
    const journal = engine.open({ now: clock.now, env: {} }, store);
    expect(journal.pruneIfDue()).not.toBeNull();
    clock.advance(DAY_MS - 1);
    expect(journal.pruneIfDue()).toBeNull();
    journal.close();
    const reopened = engine.open({ now: clock.now, env: {} }, store);
    expect(reopened.pruneIfDue()).toBeNull();
    clock.advance(1);
    expect(reopened.pruneIfDue()).not.toBeNull();
    expect(reopened.pruneIfDue()).toBeNull();
    reopened.close();
  });
});
