// The SQLite journal locked by another process (see CORE-003, errors): a process waits up to
// BUSY_TIMEOUT_MS for the lock, then says so in one line, and nothing already journaled is lost.
// Processes opening a new data directory at the same moment all get it.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/store/database.js';
import { makeTempDir, runCli } from '../support/cli.js';

const FLEET = `version: 1
hosts:
${[1, 2, 3, 4, 5, 6].map((n) => `  h${n}: {}`).join('\n')}
ops:
  hello:
    run: echo hello from {{ host.name }}
pipelines:
  default: { ops: [hello] }
`;

function runIdsIn(stdout: string): string[] {
  return [...stdout.matchAll(/^(r\d+)\b/gm)].map((match) => match[1] as string).sort();
}

describe('the journal locked by another process', () => {
  it('apply stops with one clear line (exit 1); runs reads the journal read-only; nothing is lost', {
    timeout: 60_000,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    expect((await runCli(dir, ['apply', 'default', '--on', 'h1'])).exitCode).toBe(0);

    // A program such as sqlite3 holding a write transaction open.
    const holder = new SqliteDriver(join(dir, '.nixfleet', 'nixfleet.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      const [apply, runs] = await Promise.all([runCli(dir, ['apply', 'default', '--on', 'h2']), runCli(dir, ['runs'])]);
      expect(apply.exitCode, apply.stderr).toBe(1);
      expect(apply.stderr.trimEnd().split('\n')).toEqual([
        `nixfleet: ${join(dir, '.nixfleet', 'nixfleet.db')} is locked by another process (nixfleet waited 5 s for it)`,
        expect.stringMatching(/^ {2}hint: run again once that process is done with it/),
      ]);
      expect(runs.exitCode, runs.stderr).toBe(0);
      expect(runs.stderr).toMatch(
        /^nixfleet: warning: .*is locked by another process.*; showing the journal read-only/,
      );
      expect(runIdsIn(runs.stdout)).toEqual(['r1']);
    } finally {
      holder.exec('ROLLBACK');
      holder.close();
    }

    const again = await runCli(dir, ['apply', 'default', '--on', 'h2']);
    expect(again.exitCode, again.stderr).toBe(0);
    const runs = await runCli(dir, ['runs']);
    expect(runs.stderr).toBe('');
    expect(runIdsIn(runs.stdout)).toEqual(['r1', 'r2']);
  });

  it('six applies starting at once on a new data directory all run', { timeout: 120_000 }, async () => {
    // Each round is a new data directory: the database is created, and switched to WAL, by
    // whichever process comes first while the others open it.
    for (let round = 0; round < 3; round++) {
      const dir = makeTempDir({ 'fleet.yaml': FLEET });
      const applies = await Promise.all(
        [1, 2, 3, 4, 5, 6].map((n) => runCli(dir, ['apply', 'default', '--on', `h${n}`])),
      );
      for (const apply of applies) expect(apply.exitCode, apply.stderr).toBe(0);
      const runs = await runCli(dir, ['runs']);
      expect(runIdsIn(runs.stdout)).toEqual(['r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
    }
  });
});
