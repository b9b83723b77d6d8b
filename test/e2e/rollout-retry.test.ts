// CORE-008 end to end: nixfleet is killed (-9) in the middle of a batched run; the next process
// marks what it left ORPHANED, and `retry` finishes exactly the hosts and stages that were left,
// batch by batch, with the rollout the first run journaled.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';

vi.setConfig({ testTimeout: 240_000 });

// Six hosts in batches of 2; h3's `b` waits for the file `gate`, so the kill lands inside batch 2.
const FLEET = `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {}, h6: {} }
ops:
  a: { run: 'echo "$NIXFLEET_HOST a" >> ran.txt', retryable: true }
  b:
    run: 'echo "$NIXFLEET_HOST b" >> ran.txt; if [ "$NIXFLEET_HOST" = h3 ]; then while [ ! -f gate ]; do sleep 0.05; done; fi'
    retryable: true
pipelines:
  deploy:
    ops: [a, b]
    rollout: { strategy: batches, batch: 2, maxFailures: 1 }
`;

const ran = (dir: string) =>
  existsSync(join(dir, 'ran.txt')) ? readFileSync(join(dir, 'ran.txt'), 'utf8').trim().split('\n').filter(Boolean) : [];

describe('retry after kill -9 in a batched run', () => {
  it('recovery marks the run ORPHANED; retry runs exactly what was left, batch by batch', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 240_000 });
    await waitFor(() => ran(dir).includes('h3 b') && commandStatus(dir, 'h4', 'b') === 'SUCCESS', 'h3 b running');
    apply.kill('SIGKILL');
    await apply;
    writeFileSync(join(dir, 'gate'), ''); // lets the orphaned h3 command end; it writes nothing more
    expect(ran(dir).sort()).toEqual(['h1 a', 'h1 b', 'h2 a', 'h2 b', 'h3 a', 'h3 b', 'h4 a', 'h4 b']);

    const runs = await runCli(dir, ['runs', '--json']);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout)[0]).toMatchObject({ id: 'r1', status: 'ORPHANED' });
    expect(commandStatus(dir, 'h3', 'b')).toBe('ORPHANED');
    expect(commandStatus(dir, 'h5', 'a')).toBe('ORPHANED');

    writeFileSync(join(dir, 'ran.txt'), '');
    const retry = await runCli(dir, ['retry', 'r1', '--json']);
    expect(retry.exitCode, retry.stderr).toBe(0);
    const report = JSON.parse(retry.stdout);
    expect(report).toMatchObject({ runId: 'r2', status: 'COMPLETE', stopped: null });
    const summary = Object.fromEntries(
      Object.entries(report.hosts as Record<string, { op: string; status: string; batch: number }[]>).map(
        ([host, entries]) => [host, entries.map((e) => `${e.op}:${e.status}:${e.batch}`)],
      ),
    );
    expect(summary).toEqual({
      h3: ['b:SUCCESS:2'],
      h5: ['a:SUCCESS:3', 'b:SUCCESS:3'],
      h6: ['a:SUCCESS:3', 'b:SUCCESS:3'],
    });
    // Batch 2's leftover ran first, then batch 3 with its stage barrier.
    const lines = ran(dir);
    expect(lines).toHaveLength(5);
    expect(lines[0]).toBe('h3 b');
    expect(lines.slice(1, 3).sort()).toEqual(['h5 a', 'h6 a']);
    expect(lines.slice(3).sort()).toEqual(['h5 b', 'h6 b']);

    const again = await runCli(dir, ['retry', 'r2']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stderr).toContain('nothing to retry');
  });
});

describe('retry after the failure budget stopped a batched run', () => {
  it('runs the failed host and every SKIPPED one again, batch by batch, with the same budget', async () => {
    // h3 fails `a` until the file `fixed` exists; fail-fast, batches of 2.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {}, h6: {} }
ops:
  a: { run: 'echo "$NIXFLEET_HOST a" >> ran.txt; [ "$NIXFLEET_HOST" != h3 ] || [ -f fixed ]', retryable: true }
  b: { run: 'echo "$NIXFLEET_HOST b" >> ran.txt' }
pipelines:
  deploy:
    ops: [a, b]
    rollout: { batch: 2, maxFailures: 0 }
`,
    });
    const first = await runCli(dir, ['apply', 'deploy', '--json']);
    expect(first.exitCode, first.stderr).toBe(1);
    const reason = 'failure budget exceeded: 1 of 6 hosts failed, limit 0';
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'FAILED', stopped: reason });
    expect(ran(dir).filter((l) => /^h[56]/.test(l))).toEqual([]);

    writeFileSync(join(dir, 'fixed'), '');
    writeFileSync(join(dir, 'ran.txt'), '');
    const retry = await runCli(dir, ['retry', 'r1', '--json']);
    expect(retry.exitCode, retry.stderr).toBe(0);
    const report = JSON.parse(retry.stdout);
    expect(report).toMatchObject({ status: 'COMPLETE', stopped: null });
    const summary = Object.fromEntries(
      Object.entries(report.hosts as Record<string, { op: string; batch: number }[]>).map(([host, entries]) => [
        host,
        entries.map((e) => `${e.op}:${e.batch}`),
      ]),
    );
    // h4's `a` had finished before the stop; only its `b` was SKIPPED, so only that runs again.
    expect(summary).toEqual({ h3: ['a:2', 'b:2'], h4: ['b:2'], h5: ['a:3', 'b:3'], h6: ['a:3', 'b:3'] });
    const lines = ran(dir);
    expect(lines[0]).toBe('h3 a');
    expect(lines.slice(1, 3).sort()).toEqual(['h3 b', 'h4 b']);
    expect(lines.slice(3, 5).sort()).toEqual(['h5 a', 'h6 a']);
    expect(lines.slice(5).sort()).toEqual(['h5 b', 'h6 b']);
    const shown = JSON.parse((await runCli(dir, ['show', 'r2', '--json'])).stdout);
    expect(shown.run).toMatchObject({ retryOf: 'r1', rollout: { strategy: 'batches', batches: 3, maxFailures: 0 } });
  });

  it('with rollout flags, plans the hosts it retries afresh: here a budget that lets it go on', async () => {
    // h2 and h3 fail until `fixed-<host>` exists; batches of one, fail-fast.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
ops:
  a: { run: 'echo "$NIXFLEET_HOST a" >> ran.txt; case $NIXFLEET_HOST in h2|h3) [ -f fixed-$NIXFLEET_HOST ];; esac', retryable: true }
pipelines:
  deploy:
    ops: [a]
    rollout: { batch: 1, maxFailures: 0 }
`,
    });
    const first = await runCli(dir, ['apply', 'deploy', '--json']);
    expect(JSON.parse(first.stdout)).toMatchObject({ status: 'FAILED' });
    expect(ran(dir)).toEqual(['h1 a', 'h2 a']);

    // As the run was: h2 is retried first and fails, and the budget of 0 stops it there again.
    writeFileSync(join(dir, 'ran.txt'), '');
    const kept = JSON.parse((await runCli(dir, ['retry', 'r1', '--json'])).stdout);
    expect(kept).toMatchObject({ status: 'FAILED', stopped: 'failure budget exceeded: 1 of 3 hosts failed, limit 0' });
    expect(ran(dir)).toEqual(['h2 a']);

    // With --max-failures 2 and --batch 2: h2 and h3 may fail, and h4 still runs, beside h3.
    writeFileSync(join(dir, 'fixed-h2'), '');
    writeFileSync(join(dir, 'ran.txt'), '');
    const widened = await runCli(dir, ['retry', 'r2', '--max-failures', '2', '--batch', '2', '--json']);
    expect(widened.exitCode, widened.stderr).toBe(1);
    const report = JSON.parse(widened.stdout);
    expect(report).toMatchObject({ status: 'PARTIAL', stopped: null });
    expect(
      Object.fromEntries(
        Object.entries(report.hosts as Record<string, { status: string; batch: number }[]>).map(([h, [e]]) => [
          h,
          `${e!.status}:${e!.batch}`,
        ]),
      ),
    ).toEqual({
      h2: 'SUCCESS:1',
      h3: 'ERROR:1',
      h4: 'SUCCESS:2',
    });
    const bad = await runCli(dir, ['retry', 'r3', '--batch', '0']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--batch must be a whole number of at least 1');
  });
});

describe('retry with rollout flags after a canary that completed', () => {
  it('makes no host a canary again (the fleet file’s `canary: 1` would pick the one that failed); --canary still does', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {} }
ops:
  go: { run: 'echo "$NIXFLEET_HOST" >> ran.txt; [ "$NIXFLEET_HOST" != h2 ]', retryable: true }
pipelines:
  deploy: { ops: [go], rollout: { canary: 1, batch: 2, maxFailures: 0 } }
`,
    });
    const first = JSON.parse((await runCli(dir, ['apply', 'deploy', '--json'])).stdout);
    expect(first).toMatchObject({ status: 'FAILED', canary: ['h1'] });

    writeFileSync(join(dir, 'ran.txt'), '');
    const on = await runCli(dir, ['retry', 'r1', '--max-failures', '2', '--json']);
    expect(on.exitCode, on.stderr).toBe(1);
    const report = JSON.parse(on.stdout);
    // Before, h2 was made the canary, failed again, and h4 and h5 were never started.
    expect(report).toMatchObject({ status: 'PARTIAL', stopped: null, canary: [] });
    expect(ran(dir).sort()).toEqual(['h2', 'h4', 'h5']);

    writeFileSync(join(dir, 'ran.txt'), '');
    const asked = JSON.parse(
      (await runCli(dir, ['retry', 'r1', '--force', '--max-failures', '2', '--canary', 'h4', '--json'])).stdout,
    );
    expect(asked).toMatchObject({ canary: ['h4'] });
    expect(ran(dir)[0]).toBe('h4');
  });
});

describe('retry after a canary that failed and was rolled back', () => {
  it('the canary goes first again, alone, in the canary wave: its rollback row does not move it into batch 1', async () => {
    // h1, the canary, fails `check` (its last stage) until `fixed` exists; `check` rolls back.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  build: { run: 'echo "$NIXFLEET_HOST build" >> ran.txt', retryable: true }
  check:
    run: 'echo "$NIXFLEET_HOST check" >> ran.txt; [ "$NIXFLEET_HOST" != h1 ] || [ -f fixed ]'
    rollback: 'true'
    retryable: true
pipelines:
  deploy:
    ops: [build, check]
    rollout: { canary: 1, batch: 2 }
`,
    });
    const first = await runCli(dir, ['apply', 'deploy', '--json']);
    expect(JSON.parse(first.stdout)).toMatchObject({
      status: 'FAILED',
      stopped: 'canary failed on h1: the other hosts were not started',
    });

    writeFileSync(join(dir, 'fixed'), '');
    writeFileSync(join(dir, 'ran.txt'), '');
    const retry = await runCli(dir, ['retry', 'r1', '--json']);
    expect(retry.exitCode, retry.stderr).toBe(0);
    const report = JSON.parse(retry.stdout);
    // Before, h1's last journaled row was its rollback (no batch), read as batch 1: h1 ran beside h2 and h3.
    expect(report.hosts.h1.map((e: { op: string; batch: number }) => `${e.op}:${e.batch}`)).toEqual(['check:0']);
    expect(report.hosts.h2[0].batch).toBe(1);
    const lines = ran(dir);
    expect(lines[0]).toBe('h1 check');
    expect(lines.slice(1).sort()).toEqual(['h2 build', 'h2 check', 'h3 build', 'h3 check']);
  });
});
