// CORE-003: a command's output streams to DATA_DIR/logs/<command-id>.log, referenced by
// commands.output_file, never stored in SQLite.
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import { newRun, tempDataDir } from './new-run.js';

describe('output files', () => {
  it('streams to logs/<command-id>.log, recorded relative to the data directory', async () => {
    const journal = openJournal(tempDataDir());
    const { commands } = journal.createRun(newRun(['web1']));
    const id = commands[0]!.id;
    expect(journal.getCommand(id)?.outputFile).toBeNull();
    const sink = journal.openOutput(id);
    for (let i = 0; i < 1000; i++) sink.write(`line ${i}\n`);
    sink.write(Buffer.from('bytes too\n'));
    await sink.close();
    const path = join(journal.logsDir, `${id}.log`);
    expect(journal.getCommand(id)?.outputFile).toBe(path);
    const text = readFileSync(path, 'utf8');
    expect(text.split('\n')).toHaveLength(1002);
    expect(text.endsWith('line 999\nbytes too\n')).toBe(true);

    // A retry appends to the same file.
    const again = journal.openOutput(id);
    again.write('attempt 2\n');
    await again.close();
    expect(readFileSync(path, 'utf8').endsWith('bytes too\nattempt 2\n')).toBe(true);

    const db = new Database(journal.dbPath, { readonly: true });
    expect(db.prepare('SELECT output_file FROM commands WHERE id = ?').pluck().get(id)).toBe(`logs/${id}.log`);
    db.close();
    journal.close();
  });

  it('a file that cannot be written does not throw mid-run; close() reports it', async () => {
    const journal = openJournal(tempDataDir());
    const { commands } = journal.createRun(newRun(['web1']));
    // A directory where the file should be: fails for root too, unlike a permission bit.
    mkdirSync(join(journal.logsDir, `${commands[0]!.id}.log`));
    const sink = journal.openOutput(commands[0]!.id);
    sink.write('lost\n');
    await expect(sink.close()).rejects.toThrow(/EISDIR/);
    journal.close();
  });
});
