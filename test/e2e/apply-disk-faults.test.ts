// `nixfleet apply` when the disk fails it (see CORE-001, CORE-002, CORE-003): output that cannot
// be stored, a journal whose disk fills up mid-run, and a journal whose -wal file is deleted under
// a running process. The real CLI, real files, and a real small tmpfs where mounting is permitted.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { waitForPid } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { fillDisk, mountTmpfs, type SmallDisk } from '../support/small-disk.js';
import { startServe } from '../sync/support/serve-process.js';

interface Report {
  status: string;
  hosts: Record<string, { op: string; status: string; exitCode: number | null; error: string | null }[]>;
}

const disks: SmallDisk[] = [];
afterAll(async () => {
  for (const disk of disks) await disk.unmount();
});

describe('output that cannot be stored', () => {
  // The first command's output file is a device that refuses every write with ENOSPC, or a FIFO
  // with no reader, whose open would wait for one for ever.
  it.each([
    ['a full device', (file: string) => symlinkSync('/dev/full', file), 'ENOSPC: no space left on device'],
    ['a FIFO', (file: string) => execFileSync('mkfifo', [file]), 'ENXIO'],
  ])(
    '(%s) is in the command record, and the run is not COMPLETE (exit 1)',
    { timeout: 120_000 },
    async (_, make, errno) => {
      const cwd = makeTempDir({
        'fleet.yaml': `version: 1
hosts:
  a: {}
ops:
  talk:
    run: seq 1 20000
  later:
    run: echo later
pipelines:
  p:
    ops: [talk, later]
`,
      });
      mkdirSync(join(cwd, '.nixfleet', 'logs'), { recursive: true });
      make(join(cwd, '.nixfleet', 'logs', 'c1.log'));
      const result = await runCli(cwd, ['apply', 'p', '--json'], { timeoutMs: 60_000 });
      expect(result.stderr).not.toMatch(/internal error/);
      const report = JSON.parse(result.stdout) as Report;
      expect(report.hosts.a![0]).toMatchObject({ op: 'talk', status: 'ERROR', exitCode: 0 });
      expect(report.hosts.a![0]!.error).toMatch(
        new RegExp(`^output not stored \\(logs/c1\\.log\\): ${errno}.*; the command itself succeeded$`),
      );
      expect(report.hosts.a![1]!.status).toBe('SKIPPED');
      expect(report.status).toBe('FAILED');
      expect(result.exitCode).toBe(1);
      const show = await runCli(cwd, ['show', 'r1']);
      expect(show.stdout).toMatch(/c1 \[a\] talk ERROR: output not stored/);
    },
  );
});

describe('a disk that fills up', () => {
  it('mid-run: running commands are killed, the exit is a clear message, and reading still works', {
    timeout: 180_000,
  }, async () => {
    const disk = await mountTmpfs('2m');
    if (disk === undefined) return;
    disks.push(disk);
    const cwd = makeTempDir();
    const pidFile = join(cwd, 'b.pid');
    const fleet = join(cwd, 'fleet.yaml');
    writeFileSync(
      fleet,
      `version: 1
hosts:
  a: {}
  b: {}
ops:
  fill:
    # a waits until b runs, then writes 3 MB of output onto a 2 MB disk.
    run: |
      if [ "$NIXFLEET_HOST" = b ]; then echo $$ > ${JSON.stringify(pidFile)}; exec sleep 60; fi
      while [ ! -s ${JSON.stringify(pidFile)} ]; do sleep 0.05; done
      head -c 3000000 /dev/zero | tr '\\0' x
`,
    );
    const dataDir = join(disk.dir, 'data');
    const result = await runCli(cwd, ['apply', 'fill', '--data-dir', dataDir], { timeoutMs: 120_000 });
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.stderr).toMatch(/run r1 stopped and its running commands were killed/);
    expect(result.stderr).toMatch(/nixfleet: .*nixfleet\.db.*\n {2}hint: .*free/);
    expect(result.exitCode).toBe(1);
    // b's command did not outlive nixfleet.
    expect(isRunning(await waitForPid(pidFile))).toBe(false);

    // Still full: reading commands read it, with a warning; writing ones refuse cleanly (exit 2).
    await fillDisk(disk.dir);
    const runs = await runCli(cwd, ['runs', '--data-dir', dataDir]);
    expect(runs.exitCode, runs.stderr).toBe(0);
    // Its nixfleet is gone: shown ORPHANED, as the next open that may write will record it (CORE-003).
    expect(runs.stdout).toMatch(/^r1\s+fill\s+ORPHANED\s/m);
    expect(runs.stderr).toMatch(/^nixfleet: warning: /);
    const again = await runCli(cwd, ['apply', 'fill', '--data-dir', dataDir]);
    expect(again.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(again.stderr).toMatch(/^nixfleet: .*nixfleet\.db/);
    expect(again.exitCode).toBe(2);
  });
});

describe('a journal replaced under a running process', () => {
  // With --renderer json the reader waiting for the report gets the error object instead (CORE-002).
  it.each(['plain', 'json'])(
    'the -wal deleted: the running apply stops and kills its commands instead of forking history (--renderer %s)',
    {
      timeout: 120_000,
    },
    async (renderer) => {
      const cwd = makeTempDir();
      const pidFile = join(cwd, 'hold.pid');
      const finished = join(cwd, 'finished');
      writeFileSync(
        join(cwd, 'fleet.yaml'),
        `version: 1
hosts:
  a: {}
ops:
  hold:
    run: echo $$ > ${JSON.stringify(pidFile)}; sleep 30; touch ${JSON.stringify(finished)}
`,
      );
      const first = spawnCli(cwd, ['apply', 'hold', '--renderer', renderer], { timeoutMs: 90_000 });
      const pid = await waitForPid(pidFile);
      rmSync(join(cwd, '.nixfleet', 'nixfleet.db-wal'));
      const result = await first;
      const stderr = String(result.stderr);
      expect(stderr).not.toMatch(/internal error|\n\s+at /);
      expect(stderr).toMatch(/nixfleet\.db-wal was deleted while nixfleet had the journal open/);
      expect(result.exitCode).toBe(1);
      // Killed, not waited for: the journal is checked while commands run, not only at their end.
      expect(isRunning(pid)).toBe(false);
      expect(existsSync(finished)).toBe(false);
      if (renderer === 'json') {
        const { error } = JSON.parse(String(result.stdout));
        expect(error).toMatchObject({ exitCode: 1, hint: expect.any(String) });
        expect(error.message).toMatch(/nixfleet\.db-wal was deleted while nixfleet had the journal open/);
      }
    },
  );

  it('the -shm deleted: the running apply stops, and the runs others made meanwhile stay, their ids not handed out again', {
    timeout: 120_000,
  }, async () => {
    const cwd = makeTempDir();
    const pidFile = join(cwd, 'hold.pid');
    writeFileSync(
      join(cwd, 'fleet.yaml'),
      `version: 1
hosts: { a: {}, b: {}, c: {} }
ops:
  hold:
    run: echo $$ > ${JSON.stringify(pidFile)}; sleep 30
  quick:
    run: echo quick
`,
    );
    const first = spawnCli(cwd, ['apply', 'hold', '--on', 'a'], { timeoutMs: 90_000 });
    await waitForPid(pidFile);
    rmSync(join(cwd, '.nixfleet', 'nixfleet.db-shm'));
    // Other processes go on with the journal: each makes a new index and commits its run.
    for (const host of ['b', 'c']) expect((await runCli(cwd, ['apply', 'quick', '--on', host])).exitCode).toBe(0);
    const result = await first;
    // Depending on when it looked: the index deleted, or already replaced by the one the others
    // made; or the WAL, which the last of them to close may have checkpointed and removed.
    expect(String(result.stderr)).toMatch(
      /nixfleet\.db-(shm|wal) was (deleted|replaced) while nixfleet had the journal open/,
    );
    expect(result.exitCode).toBe(1);
    // Before, the first apply went on writing the WAL from its own index, exited 0, and r2 and r3
    // were gone from the journal once it closed; the next run was r2 again.
    const runs = await runCli(cwd, ['runs', '--json']);
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toEqual(['r3', 'r2', 'r1']);
    const next = await runCli(cwd, ['apply', 'quick', '--on', 'b', '--json']);
    expect(JSON.parse(next.stdout).runId).toBe('r4');
  });

  it('the -wal deleted under serve: it stops with the reason (exit 1), no stack trace', {
    timeout: 120_000,
  }, async () => {
    const cwd = makeTempDir();
    const serve = await startServe(cwd);
    const wal = join(cwd, '.nixfleet', 'nixfleet.db-wal');
    expect(existsSync(wal)).toBe(true);
    rmSync(wal);
    const result = await serve.child;
    const stderr = String(result.stderr);
    expect(stderr).not.toMatch(/internal error|\n\s+at /);
    expect(stderr).toMatch(
      /^nixfleet serve: stopped: .*nixfleet\.db-wal was deleted while nixfleet had the journal open.*\n {2}hint: /m,
    );
    expect(result.exitCode).toBe(1);
  });
});
