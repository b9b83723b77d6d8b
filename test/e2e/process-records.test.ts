// CORE-011: no command starts before the journal knows its processes, the rollback included, so
// that after a crash recovery never frees a host while something of a run still runs there.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SqliteDriver } from '../../src/store/database.js';
import { waitForFile, waitForPid } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { childrenMatching, isRunning, killWithLifeline } from '../support/processes.js';

vi.setConfig({ testTimeout: 120_000 });

// `check` fails when the pid in a file still runs (state from /proc: a zombie is dead).
const CHECK = `for f in rollback-pid post-pid; do
        [ -e $f ] || continue
        s=$(sed 's/.*) //' /proc/$(cat $f)/stat 2>/dev/null | cut -d' ' -f1)
        if [ -n "$s" ] && [ "$s" != Z ]; then echo "$f still running"; exit 7; fi
      done`;

const FLEET = `version: 1
hosts: { h1: {} }
ops:
  broken:
    run: "false"
    rollback:
      run: echo $$ > rollback-pid; sleep 600
  gated:
    run: touch ready; i=0; while [ ! -e go ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done
    postcheck: echo $$ > post-pid; sleep 600
  check:
    run: |
      ${CHECK}
`;

describe('the journal knows every process of a run before it starts', () => {
  it('a rollback still running when nixfleet and its lifeline die is killed before its host is freed', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'broken'], { timeoutMs: 120_000 });
    const rollback = await waitForPid(join(dir, 'rollback-pid'));
    expect(childrenMatching(apply.pid!, 'held[$2]')).toHaveLength(1);
    // Both at once (the OOM killer, `kill -9` of both): nothing but recovery is left to kill it.
    await killWithLifeline(apply);
    expect(isRunning(rollback)).toBe(true);
    const next = await runCli(dir, ['apply', 'check']);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect(isRunning(rollback)).toBe(false);
    const runs = JSON.parse((await runCli(dir, ['runs', '--json'])).stdout) as { id: string; status: string }[];
    expect(runs.map((run) => [run.id, run.status])).toEqual([
      ['r2', 'COMPLETE'],
      ['r1', 'ORPHANED'],
    ]);
  });

  it('a check that would start while the journal is locked past its wait does not start; the run stops', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'gated', '--renderer', 'plain'], { timeoutMs: 120_000 });
    await waitForFile(join(dir, 'ready'));
    // A program such as sqlite3 holds a write transaction longer than nixfleet waits (5 s) while
    // the op's run ends: the postcheck's processes are the next thing to record.
    const holder = new SqliteDriver(join(dir, '.nixfleet', 'nixfleet.db'));
    holder.exec('BEGIN IMMEDIATE');
    try {
      writeFileSync(join(dir, 'go'), '');
      const result = await apply;
      expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(1);
      expect(String(result.stderr)).toMatch(/is locked by another process/);
    } finally {
      holder.exec('COMMIT');
      holder.close();
    }
    expect(existsSync(join(dir, 'post-pid'))).toBe(false);
  });
});
