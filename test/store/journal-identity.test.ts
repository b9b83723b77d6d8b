// CORE-003, the journal failing while in use: a journal whose files another process deleted or
// replaced stops instead of writing a history nobody else can see. The files are looked at no
// more often than every CHECK_INTERVAL_MS, so each case waits that long before its next call.
import { copyFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { DB_FILE, openJournal } from '../../src/store/journal.js';
import { JournalError } from '../../src/store/journal-error.js';
import { CHECK_INTERVAL_MS } from '../../src/store/journal-identity.js';
import type { Journal } from '../../src/store/types.js';
import { newRun, tempDataDir } from './new-run.js';

let journal: Journal | undefined;
afterEach(() => {
  journal?.close();
  journal = undefined;
});

function replacedError(call: () => unknown): JournalError {
  try {
    call();
  } catch (error) {
    expect(error).toBeInstanceOf(JournalError);
    return error as JournalError;
  }
  throw new Error('the call did not throw');
}

describe('a journal whose files are replaced under it', () => {
  it('a deleted -wal stops the next call after the interval, and every call after it', async () => {
    const dataDir = tempDataDir();
    journal = openJournal(dataDir);
    const { run } = journal.createRun(newRun(['web1']));
    rmSync(join(dataDir, `${DB_FILE}-wal`));
    await sleep(CHECK_INTERVAL_MS + 5);
    const error = replacedError(() => journal!.getRun(run.id));
    expect(error.kind).toBe('replaced');
    expect(error.message).toMatch(/nixfleet\.db-wal was deleted while nixfleet had the journal open/);
    // Nothing more is written to the deleted file, however soon the next call comes.
    expect(replacedError(() => journal!.finishRun(run.id, 'COMPLETE')).kind).toBe('replaced');
  });

  it('a database file replaced by another (same name, new inode) is noticed too', async () => {
    const dataDir = tempDataDir();
    journal = openJournal(dataDir);
    journal.createRun(newRun(['web1']));
    const dbPath = join(dataDir, DB_FILE);
    copyFileSync(dbPath, `${dbPath}.copy`);
    renameSync(`${dbPath}.copy`, dbPath);
    await sleep(CHECK_INTERVAL_MS + 5);
    const error = replacedError(() => journal!.listRuns());
    expect(error.kind).toBe('replaced');
    expect(error.message).toMatch(/nixfleet\.db was replaced while nixfleet had the journal open/);
  });
});
