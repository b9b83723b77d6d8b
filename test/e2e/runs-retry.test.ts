// `retry`, `runs`, `show` and `logs` end to end: retry re-runs only what did not complete.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';

// Several CLI runs per test on a shared two-core machine: generous, still bounded.
vi.setConfig({ testTimeout: 240_000 });

// h2 fails `migrate` until the file `fixed` exists; every command appends to ran.txt.
const fleet = (migrateRetryable: boolean) => `version: 1
settings: { defaultPipeline: deploy }
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  fetch:
    run: echo "$NIXFLEET_HOST fetch" >> ran.txt
  migrate:
    run: echo "$NIXFLEET_HOST migrate" >> ran.txt; echo "migrating $NIXFLEET_HOST"; test "$NIXFLEET_HOST" != h2 || test -f fixed
    retryable: ${migrateRetryable}
  restart:
    run: echo "$NIXFLEET_HOST restart" >> ran.txt
pipelines:
  deploy: { ops: [fetch, migrate, restart] }
`;

const ranLines = (dir: string) => readFileSync(join(dir, 'ran.txt'), 'utf8').trim().split('\n');

describe('retry', () => {
  it('re-runs, for each host that did not complete, from the stage where it stopped', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(true) });
    const first = await runCli(dir, ['apply', '--json']);
    expect(first.exitCode, String(first.stderr)).toBe(1);
    // The report says which run a retry retries (CORE-002); a fresh run retries none.
    expect(JSON.parse(first.stdout)).toMatchObject({ runId: 'r1', retryOf: null, status: 'PARTIAL' });
    expect(ranLines(dir)).toHaveLength(8);
    writeFileSync(join(dir, 'fixed'), '');
    writeFileSync(join(dir, 'ran.txt'), '');

    const retry = await runCli(dir, ['retry', 'r1', '--json']);
    expect(retry.exitCode, String(retry.stderr)).toBe(0);
    const report = JSON.parse(retry.stdout);
    expect(report).toMatchObject({ runId: 'r2', retryOf: 'r1', status: 'COMPLETE' });
    expect(report.hosts).toEqual({
      h2: [
        expect.objectContaining({ op: 'migrate', status: 'SUCCESS' }),
        expect.objectContaining({ op: 'restart', status: 'SUCCESS' }),
      ],
    });
    expect(ranLines(dir)).toEqual(['h2 migrate', 'h2 restart']);

    const runs = JSON.parse((await runCli(dir, ['runs', '--json'])).stdout);
    expect(
      runs.map((r: { id: string; status: string; retryOf: string | null }) => [r.id, r.status, r.retryOf]),
    ).toEqual([
      ['r2', 'COMPLETE', 'r1'],
      ['r1', 'PARTIAL', null],
    ]);
    const again = await runCli(dir, ['retry', 'r2']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
    expect(again.stderr).toContain('nothing to retry');
    expect(again.stdout).toBe('');
    // With --json stdout still holds one document: no run was started, and why (CORE-002).
    const againJson = await runCli(dir, ['--json', 'retry', 'r2']);
    expect(againJson.exitCode, String(againJson.stderr)).toBe(0);
    expect(againJson.stderr).toBe('run r2 completed on every host; nothing to retry');
    expect(JSON.parse(againJson.stdout)).toEqual({
      runId: null,
      retryOf: 'r2',
      nothingToRetry: true,
      message: 'run r2 completed on every host; nothing to retry',
    });
    // r1 again would run h2's migrate and restart a second time: the newest attempt is r2.
    const twice = await runCli(dir, ['retry', 'r1']);
    expect(twice.exitCode, String(twice.stderr)).toBe(2);
    expect(twice.stderr).toContain('nixfleet: run r1 was already retried by r2 (COMPLETE)');
    expect(twice.stderr).toContain('hint: retry r2 instead, the newest attempt, or pass --force');
    expect(ranLines(dir)).toEqual(['h2 migrate', 'h2 restart']);
  });

  it('refuses to run a failed op that is not retryable again, unless --force', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(false) });
    expect((await runCli(dir, ['apply'])).exitCode).toBe(1);
    const refused = await runCli(dir, ['retry', 'r1']);
    expect(refused.exitCode, String(refused.stderr)).toBe(2);
    expect(refused.stderr).toContain('not marked retryable would run again: migrate');
    expect(refused.stderr).toContain('--force');
    writeFileSync(join(dir, 'fixed'), '');
    const forced = await runCli(dir, ['retry', 'r1', '--force']);
    expect(forced.exitCode, String(forced.stderr)).toBe(0);
  });

  it('after nixfleet died, a non-retryable op that never started is no reason to refuse', async () => {
    // h2 is still in `slow` when nixfleet is killed, so `after` (not retryable) never started anywhere.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {} }
ops:
  slow:
    run: if [ "$NIXFLEET_HOST" = h2 ] && [ ! -f fixed ]; then touch h2-started; sleep 30; fi
    retryable: true
  after:
    run: echo "$NIXFLEET_HOST after" >> ran.txt
pipelines:
  deploy: { ops: [slow, after] }
`,
    });
    const first = spawnCli(dir, ['apply', 'deploy']);
    await waitForFile(join(dir, 'h2-started'));
    first.kill('SIGKILL');
    await first;
    writeFileSync(join(dir, 'fixed'), '');
    const retry = await runCli(dir, ['retry', 'r1', '--json']);
    expect(retry.exitCode, String(retry.stderr)).toBe(0);
    expect(JSON.parse(retry.stdout)).toMatchObject({ status: 'COMPLETE' });
    expect(ranLines(dir).sort()).toEqual(['h1 after', 'h2 after']);
  });

  it('an unknown run id is exit 2 with a hint', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(true) });
    const result = await runCli(dir, ['retry', 'r99']);
    expect(result.exitCode, String(result.stderr)).toBe(2);
    expect(result.stderr).toContain('no run `r99`');
  });

  it('with --json an unknown run is the error object on stdout for retry, show, logs and cancel', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(true) });
    expect((await runCli(dir, ['apply'])).exitCode).toBe(1);
    for (const command of ['retry', 'show', 'logs', 'cancel']) {
      const result = await runCli(dir, ['--json', command, 'r99']);
      expect(result.exitCode, `${command}: ${result.stderr}`).toBe(2);
      const [line, hint] = result.stderr.split('\n');
      const { error } = JSON.parse(result.stdout);
      // The same words as stderr's two lines.
      expect(`nixfleet: ${error.message}`, command).toBe(line);
      expect(`  hint: ${error.hint}`, command).toBe(hint);
      expect(error.message, command).toMatch(/^no (command or )?run `r99`$/);
      expect(error.exitCode, command).toBe(2);
    }
    // A run that already ended: cancel's own answer, nothing requested.
    const cancel = await runCli(dir, ['--json', 'cancel', 'r1']);
    expect(cancel.exitCode, String(cancel.stderr)).toBe(0);
    expect(JSON.parse(cancel.stdout)).toEqual({ runId: 'r1', status: 'PARTIAL', cancelRequested: false });
  });
});

describe('retry --renderer json (CORE-002)', () => {
  // h2 fails `migrate` until `fixed` exists; `hold` on h2 waits until the file `go` exists.
  const held = `version: 1
settings: { defaultPipeline: deploy }
hosts: { h1: {}, h2: {} }
ops:
  fetch:
    run: echo fetch
  migrate:
    run: test "$NIXFLEET_HOST" != h2 || test -f fixed
    retryable: true
  hold:
    run: touch holding; i=0; while [ ! -f go ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done
    timeout: 60s
pipelines:
  deploy: { ops: [fetch, migrate] }
`;
  // The words of stderr's two lines, and the exit code, as one object alone on stdout.
  const expectErrorObject = (result: { exitCode: number; stdout: string; stderr: string }, exitCode: number) => {
    expect(result.exitCode, result.stderr).toBe(exitCode);
    expect(result.stdout.trimEnd().split('\n')).toHaveLength(1);
    const parsed = JSON.parse(result.stdout);
    expect(Object.keys(parsed)).toEqual(['error']);
    const [line, hint] = result.stderr.split('\n');
    expect(`nixfleet: ${parsed.error.message}`).toBe(line);
    expect(`  hint: ${parsed.error.hint}`).toBe(hint);
    expect(parsed.error.exitCode).toBe(exitCode);
    return parsed.error as { message: string; hint: string; exitCode: number };
  };

  it('an error that ends retry is the {"error": …} object on stdout, and a retry that ran is its report', async () => {
    const dir = makeTempDir({ 'fleet.yaml': held });
    expect((await runCli(dir, ['apply', '--renderer', 'plain'])).exitCode).toBe(1);

    // An unknown run: exit 2.
    const unknown = await runCli(dir, ['retry', 'r99', '--renderer', 'json']);
    expect(expectErrorObject(unknown, 2).message).toBe('no run `r99`');

    // h2 busy with another run: exit 3, nothing started.
    const hold = spawnCli(dir, ['apply', 'hold', '--on', 'h2', '--renderer', 'plain'], { timeoutMs: 90_000 });
    await waitForFile(join(dir, 'holding'));
    const busy = await runCli(dir, ['retry', 'r1', '--renderer=json']);
    expect(expectErrorObject(busy, 3).message).toBe('host(s) busy: h2 (run r2); nothing was started');
    writeFileSync(join(dir, 'go'), '');
    expect((await hold).exitCode).toBe(0);

    // The retry that runs: its report, retryOf the run it retried, only what did not complete.
    writeFileSync(join(dir, 'fixed'), '');
    const retry = await runCli(dir, ['retry', 'r1', '--renderer', 'json']);
    expect(retry.exitCode, retry.stderr).toBe(0);
    const report = JSON.parse(retry.stdout);
    expect(Object.keys(report)).toEqual(['runId', 'retryOf', 'target', 'status', 'stopped', 'canary', 'hosts']);
    expect(report).toMatchObject({ runId: 'r3', retryOf: 'r1', target: 'deploy', status: 'COMPLETE', stopped: null });
    expect(report.hosts).toEqual({
      h2: [expect.objectContaining({ op: 'migrate', status: 'SUCCESS', exitCode: 0, error: null })],
    });

    // Retried already: exit 2, the newest attempt named.
    const twice = await runCli(dir, ['retry', 'r1', '--renderer', 'json']);
    expect(expectErrorObject(twice, 2).message).toBe('run r1 was already retried by r3 (COMPLETE)');

    // Nothing left to retry: exit 0 and `--json`'s document, not an empty stdout. Before, the
    // reader waiting for a report got nothing at all.
    const nothing = await runCli(dir, ['retry', 'r3', '--renderer', 'json']);
    expect(nothing.exitCode, nothing.stderr).toBe(0);
    expect(nothing.stderr).toBe('run r3 completed on every host; nothing to retry');
    expect(JSON.parse(nothing.stdout)).toEqual({
      runId: null,
      retryOf: 'r3',
      nothingToRetry: true,
      message: 'run r3 completed on every host; nothing to retry',
    });
    // Another renderer keeps stdout free of it.
    expect((await runCli(dir, ['retry', 'r3', '--renderer', 'plain'])).stdout).toBe('');
  });
});

describe('runs, show and logs', () => {
  it('show lays out hosts × stages; logs prints stored output by command or by run and host', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(true) });
    await runCli(dir, ['apply']);
    const runs = await runCli(dir, ['runs']);
    expect(runs.stdout).toMatch(/^r1\s+deploy\s+PARTIAL\s+3\s/m);

    const show = await runCli(dir, ['show', 'r1']);
    expect(show.exitCode, String(show.stderr)).toBe(0);
    expect(show.stdout).toMatch(/^HOST\s+1\. fetch\s+2\. migrate\s+3\. restart$/m);
    expect(show.stdout).toMatch(/^h2\s+SUCCESS \S+\s+ERROR\(1\) \S+\s+SKIPPED$/m);
    const failed = /^(c\d+) \[h2\] migrate ERROR: exit code 1$/m.exec(show.stdout);
    expect(failed).not.toBeNull();

    const one = await runCli(dir, ['logs', failed![1]!]);
    expect(one.stdout).toBe('migrating h2');
    const byHost = await runCli(dir, ['logs', 'r1', '--host', 'h2']);
    expect(byHost.stdout).toMatch(/==> c\d+ \[h2\] migrate ERROR <==\nmigrating h2\n/);
    expect(byHost.stdout).not.toContain('h1');
    const missing = await runCli(dir, ['show', 'r9']);
    expect(missing.exitCode, String(missing.stderr)).toBe(2);
  });

  it('runs says how many runs it left out, and --json stays the list of runs', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(true) });
    for (let i = 0; i < 3; i++) expect((await runCli(dir, ['apply', 'fetch'])).exitCode).toBe(0);
    const page = await runCli(dir, ['runs', '--limit', '2']);
    expect(page.exitCode, page.stderr).toBe(0);
    const lines = page.stdout.trimEnd().split('\n');
    expect(lines.slice(1, 3).map((l) => l.split(/\s+/)[0])).toEqual(['r3', 'r2']);
    expect(lines.at(-1)).toBe('2 of 3 runs shown; --limit N for more');
    // All of them fit: nothing more to say.
    expect((await runCli(dir, ['runs', '--limit', '3'])).stdout).not.toContain('shown');
    expect((await runCli(dir, ['runs'])).stdout).not.toContain('shown');
    const json = JSON.parse((await runCli(dir, ['runs', '--limit', '2', '--json'])).stdout);
    expect(json.map((r: { id: string }) => r.id)).toEqual(['r3', 'r2']);
  });
});
