// CORE-003, errors: the `meta` id counters. One that is not a whole number, is missing, or would
// hand out an id a run or command already has, is a damaged journal: a JournalError (`unusable`)
// naming the counter, with the SQL that sets it after the highest id in use; nothing is written.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { JournalError } from '../../src/store/journal-error.js';
import type { Journal } from '../../src/store/types.js';
import { psql } from '../support/postgres.js';
import { ENGINES, type StoreLocation } from './engines.js';
import { newRun } from './new-run.js';

/** Runs SQL on the store the way a person with sqlite3 or psql would. */
function edit(at: StoreLocation, sql: string): void {
  if (at.store !== undefined) {
    psql(at.store, sql);
    return;
  }
  const db = new Database(join(at.dataDir, 'nixfleet.db'));
  try {
    db.exec(sql);
  } finally {
    db.close();
  }
}

function refusal(attempt: () => unknown): JournalError {
  try {
    attempt();
  } catch (error) {
    expect(error).toBeInstanceOf(JournalError);
    return error as JournalError;
  }
  throw new Error('expected a JournalError');
}

describe.each(ENGINES)('id counters on $name', (engine) => {
  /** A journal holding runs r1 and r2, with commands c1..c4. */
  function twoRuns(): { at: StoreLocation; journal: Journal } {
    const at = engine.newStore();
    const journal = engine.open({}, at);
    for (const id of ['r1', 'r2']) {
      const { run } = journal.createRun(newRun(['web1', 'web2']));
      expect(run.id).toBe(id);
      journal.finishRun(id, 'CANCELLED');
    }
    return { at, journal };
  }

  it.each([
    ['next_run', 'run r1', '3'],
    ['next_command', 'command c1', '5'],
  ])(
    '%s behind the ids in use: the run is refused, nothing is written, and the hint fixes it',
    (counter, taken, next) => {
      const { at, journal } = twoRuns();
      edit(at, `UPDATE meta SET value = '1' WHERE key = '${counter}'`);
      const version = journal.version();
      const error = refusal(() => journal.createRun(newRun(['web3'])));
      expect(error.kind).toBe('unusable');
      expect(error.path).toBe(journal.dbPath);
      expect(error.message).toBe(
        `${journal.dbPath} is damaged: its id counter ${counter} (table meta) is 1, but ${taken} already exists`,
      );
      const fix = `UPDATE meta SET value = '${next}' WHERE key = '${counter}'`;
      expect(error.hint).toContain(fix);
      expect(error.hint).toContain('restore');
      expect(journal.version()).toBe(version);
      expect(journal.listRuns().map((run) => run.id)).toEqual(['r2', 'r1']);
      expect(journal.listCommands()).toHaveLength(4);

      edit(at, fix);
      const { run, commands } = journal.createRun(newRun(['web3']));
      expect([run.id, commands[0]!.id]).toEqual(['r3', 'c5']);
      journal.close();
    },
  );

  it.each(['abc', '', '0', '-2', '2.5', '1e3', ' 7'])('next_run stored as %j is refused', (value) => {
    const { at, journal } = twoRuns();
    edit(at, `UPDATE meta SET value = '${value}' WHERE key = 'next_run'`);
    const error = refusal(() => journal.createRun(newRun(['web3'])));
    expect(error.kind).toBe('unusable');
    expect(error.message).toBe(
      `${journal.dbPath} is damaged: its id counter next_run (table meta) is ${JSON.stringify(value)}, not a whole number of at least 1`,
    );
    expect(error.hint).toContain("UPDATE meta SET value = '3' WHERE key = 'next_run'");
    expect(journal.listRuns()).toHaveLength(2);
    journal.close();
  });

  it('a missing counter is refused, with the INSERT that puts it back', () => {
    const { at, journal } = twoRuns();
    edit(at, "DELETE FROM meta WHERE key = 'next_command'");
    const error = refusal(() => journal.createRun(newRun(['web3'])));
    expect(error.message).toBe(`${journal.dbPath} is damaged: its id counter next_command (table meta) is missing`);
    expect(error.hint).toContain("INSERT INTO meta (key, value) VALUES ('next_command', '5')");
    journal.close();
  });

  it('a rollback is refused the same way, and adds no command', () => {
    const at = engine.newStore();
    const journal = engine.open({}, at);
    const { commands } = journal.createRun(newRun(['web1']));
    const id = commands[0]!.id;
    journal.transitionCommand(id, 'VALIDATING');
    journal.transitionCommand(id, 'EXECUTING');
    journal.transitionCommand(id, 'ERROR', { exitCode: 1 });
    edit(at, "UPDATE meta SET value = '1' WHERE key = 'next_command'");
    const error = refusal(() => journal.addRollback(id));
    expect(error.message).toMatch(/is 1, but command c1 already exists$/);
    expect(journal.listCommands()).toHaveLength(1);
    journal.close();
  });

  it('a whole number written as 3.0 (as SQLite journals stored the counters until now) still counts', () => {
    const { at, journal } = twoRuns();
    edit(at, "UPDATE meta SET value = '3.0' WHERE key = 'next_run'");
    expect(journal.createRun(newRun(['web3'])).run.id).toBe('r3');
    journal.close();
  });
});
