// CORE-003: a command's output streams to DATA_DIR/logs/<command-id>.log, referenced by
// commands.output_file, never stored in SQLite. CORE-012: on PostgreSQL it is stored in the
// database in chunks; either way Journal.readOutput gives it back, by byte range.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { openJournal } from '../../src/store/journal.js';
import { psql } from '../support/postgres.js';
import { ENGINES, POSTGRES } from './engines.js';
import { newRun, tempDataDir } from './new-run.js';

describe.each(ENGINES)('stored output on $name', (engine) => {
  it('reads back what was written, whole or by byte range, and a retry appends', async () => {
    const journal = engine.open();
    const { commands } = journal.createRun(newRun(['web1']));
    const id = commands[0]!.id;
    expect(journal.outputSize(id)).toBe(0);
    expect(journal.readOutput(id).length).toBe(0);
    const sink = journal.openOutput(id);
    for (let i = 0; i < 1000; i++) sink.write(`line ${i}\n`);
    sink.write(Buffer.from('bytes too\n'));
    await sink.close();
    const text = journal.readOutput(id).toString('utf8');
    expect(text.split('\n')).toHaveLength(1002);
    expect(text.endsWith('line 999\nbytes too\n')).toBe(true);
    expect(journal.outputSize(id)).toBe(Buffer.byteLength(text));
    expect(journal.readOutput(id, { start: 7, end: 13 }).toString()).toBe('line 1');
    expect(journal.readOutput(id, { start: text.length - 10 }).toString()).toBe('bytes too\n');
    expect(journal.getCommand(id)?.outputFile).not.toBeNull();

    const again = journal.openOutput(id);
    again.write('attempt 2\n');
    await again.close();
    expect(journal.readOutput(id).toString().endsWith('bytes too\nattempt 2\n')).toBe(true);
    journal.close();
  });

  it('output larger than one chunk comes back byte for byte', async () => {
    const journal = engine.open();
    const { commands } = journal.createRun(newRun(['web1']));
    const id = commands[0]!.id;
    const bytes = Buffer.alloc(300 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 7) % 256;
    const sink = journal.openOutput(id);
    for (let at = 0; at < bytes.length; at += 1000) sink.write(bytes.subarray(at, at + 1000));
    await sink.close();
    expect(journal.readOutput(id).equals(bytes)).toBe(true);
    expect(journal.readOutput(id, { start: 65_000, end: 200_000 }).equals(bytes.subarray(65_000, 200_000))).toBe(true);
    journal.close();
  });
});

describe('output on PostgreSQL', () => {
  it('lives in output_chunks, not in a file of the data directory', async () => {
    const store = POSTGRES.newStore();
    const journal = POSTGRES.open({}, store);
    const { commands } = journal.createRun(newRun(['web1']));
    const id = commands[0]!.id;
    const sink = journal.openOutput(id);
    sink.write('in the database\n');
    await sink.close();
    expect(journal.getCommand(id)?.outputFile).toBe(`postgres:${id}`);
    expect(existsSync(join(store.dataDir, 'logs', `${id}.log`))).toBe(false);
    expect(psql(store.store!, `SELECT convert_from(data, 'UTF8') FROM output_chunks WHERE command_id = '${id}'`)).toBe(
      'in the database',
    );
    journal.close();
  });
});

describe('output files on SQLite', () => {
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

  it('a file left in logs/ by an earlier journal of the data directory is not the new command’s output', async () => {
    // The journal deleted (or replaced) and a new one made: its ids start at c1 again.
    const dataDir = tempDataDir();
    mkdirSync(join(dataDir, 'logs'), { recursive: true });
    writeFileSync(join(dataDir, 'logs', 'c1.log'), 'output of the old journal’s c1\n');
    writeFileSync(join(dataDir, 'logs', 'c2.log'), 'output of the old journal’s c2\n', { mode: 0o400 });
    const journal = openJournal(dataDir);
    const { commands } = journal.createRun(newRun(['web1', 'web2']));
    for (const { id } of commands) {
      const sink = journal.openOutput(id);
      sink.write(`new ${id}\n`);
      await sink.close();
      expect(journal.readOutput(id).toString()).toBe(`new ${id}\n`);
    }
    // The command's own later attempts still append.
    const again = journal.openOutput(commands[0]!.id);
    again.write('attempt 2\n');
    await again.close();
    expect(journal.readOutput(commands[0]!.id).toString()).toBe(`new ${commands[0]!.id}\nattempt 2\n`);
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
