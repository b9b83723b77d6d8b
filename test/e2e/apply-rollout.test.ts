// CORE-008 end to end: the real CLI, a real journal, local hosts. Every command stamps when it
// started and ended (`date +%s%N`), so the order of the rollout is read from what the commands
// themselves saw, never from wall-clock guesses in the test.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';

vi.setConfig({ testTimeout: 240_000 });

const HOSTS = Array.from({ length: 10 }, (_, i) => `h${i + 1}`);

/**
 * Ten local hosts through build, switch, check. `fail` hosts exit 1 in `failIn` (default check);
 * with `gate`, every other host's build waits until the file `gate` exists.
 */
function fleet(
  rollout: string,
  options: { fail?: string[]; failIn?: string; concurrency?: number; gate?: boolean } = {},
) {
  const failing = (options.fail ?? []).map((h) => `[ "$NIXFLEET_HOST" = ${h} ]`).join(' || ');
  const failLine = failing ? `if ${failing}; then exit 1; fi` : 'true';
  // The failing hosts never wait at the gate: they fail while the others are held there.
  const gateLoop = `while ! { ${failing || 'false'}; } && [ ! -f gate ]; do sleep 0.05; done; `;
  const body = (op: string) =>
    `${op === 'build' && options.gate ? gateLoop : ''}sleep 0.05; ${op === (options.failIn ?? 'check') ? failLine : 'true'}`;
  const stamp = (op: string) =>
    `date +%s%N > stamps/$NIXFLEET_HOST.${op}.start; ( ${body(op)} ); s=$?; date +%s%N > stamps/$NIXFLEET_HOST.${op}.end; exit $s`;
  return `version: 1
settings: { concurrency: ${options.concurrency ?? 10} }
hosts: { ${HOSTS.map((h) => `${h}: {}`).join(', ')} }
ops:
  build: { run: '${stamp('build')}', retryable: true }
  switch: { run: '${stamp('switch')}', retryable: true }
  check: { run: '${stamp('check')}', retryable: true }
pipelines:
  deploy:
    ops: [build, switch, check]
    rollout: ${rollout}
`;
}

function dirWithFleet(text: string): string {
  return makeTempDir({ 'fleet.yaml': text, 'stamps/.keep': '' });
}

/** host -> op -> [start, end] in nanoseconds, as the commands wrote them. */
function stamps(dir: string): Map<string, Map<string, [bigint, bigint]>> {
  const out = new Map<string, Map<string, [bigint, bigint]>>();
  for (const name of readdirSync(join(dir, 'stamps'))) {
    const [host, op, edge] = name.split('.');
    if (edge !== 'start') continue;
    const read = (e: string) => BigInt(readFileSync(join(dir, 'stamps', `${host}.${op}.${e}`), 'utf8').trim());
    const ops = out.get(host!) ?? new Map<string, [bigint, bigint]>();
    ops.set(op!, [read('start'), read('end')]);
    out.set(host!, ops);
  }
  return out;
}

const span = (all: ReturnType<typeof stamps>, hosts: string[], ops?: string[]) => {
  const pairs = hosts.flatMap((h) => [...(all.get(h)?.entries() ?? [])].filter(([op]) => !ops || ops.includes(op)));
  const starts = pairs.map(([, [s]]) => s);
  const ends = pairs.map(([, [, e]]) => e);
  const sorted = (values: bigint[]) => values.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return { first: sorted(starts)[0]!, last: sorted(ends).at(-1)! };
};

describe('canary and batches', () => {
  it('10 hosts, canary 1, batch 3: the canary alone through every stage, then batches of 3, each through every stage', async () => {
    const dir = dirWithFleet(fleet('{ canary: 1, batch: 3 }'));
    const result = await runCli(dir, ['apply', 'deploy', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.status).toBe('COMPLETE');
    expect(report.hosts.h1.map((e: { batch: number }) => e.batch)).toEqual([0, 0, 0]);
    expect(report.hosts.h4[0].batch).toBe(1);
    expect(report.hosts.h5[0].batch).toBe(2);
    expect(report.hosts.h10[0].batch).toBe(3);

    const all = stamps(dir);
    expect(all.size).toBe(10);
    const waves = [['h1'], ['h2', 'h3', 'h4'], ['h5', 'h6', 'h7'], ['h8', 'h9', 'h10']];
    for (let i = 0; i + 1 < waves.length; i++) {
      // Every stage of a wave ended before anything of the next one started.
      expect(span(all, waves[i]!).last < span(all, waves[i + 1]!).first, `wave ${i} before wave ${i + 1}`).toBe(true);
    }
    for (const wave of waves) {
      // The stage barrier holds inside each wave.
      expect(span(all, wave, ['build']).last < span(all, wave, ['switch']).first).toBe(true);
      expect(span(all, wave, ['switch']).last < span(all, wave, ['check']).first).toBe(true);
    }
    // The canary ran alone: nothing else overlapped it.
    const canary = span(all, ['h1']);
    expect(canary.last < span(all, HOSTS.slice(1)).first).toBe(true);
  });

  it('a failing canary stops the run: nothing else started, the rest SKIPPED with the reason, exit 1', async () => {
    const dir = dirWithFleet(fleet('{ canary: 1, batch: 3 }', { fail: ['h1'] }));
    const junit = join(dir, 'report.xml');
    const result = await runCli(dir, ['apply', 'deploy', '--json', '--junit', junit]);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    const reason = 'canary failed on h1: the other hosts were not started';
    expect(report).toMatchObject({ status: 'FAILED', stopped: reason });
    expect([...stamps(dir).keys()]).toEqual(['h1']);
    expect(report.hosts.h1.map((e: { status: string }) => e.status)).toEqual(['SUCCESS', 'SUCCESS', 'ERROR']);
    for (const host of HOSTS.slice(1)) {
      for (const entry of report.hosts[host]) expect(entry).toMatchObject({ status: 'SKIPPED', error: reason });
    }
    expect(readFileSync(junit, 'utf8')).toContain(`<skipped message="SKIPPED: ${reason}"/>`);
  });
  it('a canary whose command alone was killed (the dashboard’s per-host Kill) stops the run like a failed one', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  go: { run: 'echo $NIXFLEET_HOST >> trace; if [ $NIXFLEET_HOST = h1 ]; then touch hung; sleep 600; fi' }
  after: { run: 'true' }
pipelines:
  deploy: { ops: [go, after], rollout: { canary: 1 } }
`,
    });
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 240_000 });
    await waitFor(() => existsSync(join(dir, 'hung')), 'the canary hangs');
    // What the dashboard's per-host Kill journals (CORE-004): only h1's command is killed.
    const journal = openJournal(join(dir, '.nixfleet'));
    try {
      journal.requestCancel('r1', { hostId: 'h1' });
    } finally {
      journal.close();
    }
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const reason = 'canary cancelled on h1: the other hosts were not started';
    const report = JSON.parse(String(result.stdout));
    expect(report).toMatchObject({ status: 'FAILED', stopped: reason });
    expect(report.hosts.h1.map((e: { status: string }) => e.status)).toEqual(['CANCELLED', 'SKIPPED']);
    for (const host of ['h2', 'h3']) {
      for (const entry of report.hosts[host]) expect(entry).toMatchObject({ status: 'SKIPPED', error: reason });
    }
    expect(readFileSync(join(dir, 'trace'), 'utf8')).toBe('h1\n');
  });

  it('a cancel that comes after the canary failed, while its rollback runs, keeps FAILED and the reason, exit 1', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  switch:
    run: exit 1
    rollback: touch rolling-back; while [ ! -f gate ]; do sleep 0.05; done
pipelines:
  deploy: { ops: [switch], rollout: { canary: 1 } }
`,
    });
    const apply = spawnCli(dir, ['apply', 'deploy', '--renderer', 'plain'], { timeoutMs: 240_000 });
    await waitFor(() => existsSync(join(dir, 'rolling-back')), "the canary's rollback runs");
    const cancel = await runCli(dir, ['cancel', 'r1']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    // The run has seen the cancel (it journals the request at once; the run polls it).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    writeFileSync(join(dir, 'gate'), '');
    const result = await apply;
    const reason = 'canary failed on h1: the other hosts were not started';
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(String(result.stdout)).toContain(`rollout stopped: ${reason}`);
    expect(String(result.stdout)).toMatch(/^run r1 FAILED: 0\/3 host\(s\) completed/m);
    const show = await runCli(dir, ['show', 'r1', '--json']);
    const shown = JSON.parse(show.stdout);
    expect(shown.run.status).toBe('FAILED');
    expect(shown.commands.map((c: { status: string }) => c.status)).toEqual(['ERROR', 'SKIPPED', 'SKIPPED', 'SUCCESS']);
  });

  it('a cancel --kill after the budget stopped the rollout, killing a command still running, is CANCELLED, 130', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
ops:
  switch:
    run: if [ $NIXFLEET_HOST = h1 ]; then exit 1; fi; touch "running-$NIXFLEET_HOST"; sleep 60
pipelines:
  deploy: { ops: [switch], rollout: { batch: 2, maxFailures: 0 } }
`,
    });
    const apply = spawnCli(dir, ['apply', 'deploy', '--renderer', 'plain'], { timeoutMs: 240_000 });
    await waitFor(() => existsSync(join(dir, 'running-h2')), 'h2 runs');
    await waitFor(() => commandStatus(dir, 'h1', 'switch') === 'ERROR', 'h1 failed');
    const cancel = await runCli(dir, ['cancel', 'r1', '--kill']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(String(result.stdout)).toContain('rollout stopped: failure budget exceeded');
    expect(String(result.stdout)).toMatch(/^run r1 CANCELLED: /m);
    const shown = JSON.parse((await runCli(dir, ['show', 'r1', '--json'])).stdout);
    expect(shown.run.status).toBe('CANCELLED');
    expect(shown.commands.map((c: { status: string }) => c.status)).toEqual([
      'ERROR',
      'CANCELLED',
      'SKIPPED',
      'SKIPPED',
    ]);
  });

  it('pause: the next wave starts no sooner than the pause after the previous one ended', async () => {
    const dir = dirWithFleet(fleet('{ canary: 1, batch: 9, pause: 1500ms }'));
    const result = await runCli(dir, ['apply', 'deploy', '--renderer', 'plain']);
    expect(result.exitCode, result.stderr).toBe(0);
    const all = stamps(dir);
    // A lower bound only: a pause is a minimum wait, however loaded the machine.
    const gapNs = span(all, HOSTS.slice(1)).first - span(all, ['h1']).last;
    expect(gapNs >= 1_500_000_000n, `gap ${gapNs} ns`).toBe(true);
    // The plain output says so, between the canary's last stage and the next wave.
    const lines = result.stdout.split('\n');
    const paused = lines.indexOf('rollout paused for 1500ms before batch 1/1');
    expect(paused, result.stdout).toBeGreaterThan(0);
    expect(lines.slice(paused - 1, paused + 3)).toEqual([
      'stage 3/3 check (canary): 1 ok, 0 failed',
      'rollout paused for 1500ms before batch 1/1',
      'batch 1/1: h2, h3, h4 and 6 more',
      'stage 1/3: build (batch 1/1)',
    ]);
    expect(lines).toContain('stage 3/3 check (batch 1/1): 9 ok, 0 failed');
  });
  it('Ctrl-C during a pause ends it: the run is CANCELLED at once, no later wave starts', async () => {
    const dir = dirWithFleet(fleet('{ canary: 1, batch: 3, pause: 1h }'));
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 240_000 });
    await waitFor(() => existsSync(join(dir, 'stamps', 'h1.check.end')), 'the canary finished');
    apply.kill('SIGINT');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    const report = JSON.parse(String(result.stdout));
    expect(report.status).toBe('CANCELLED');
    expect([...stamps(dir).keys()]).toEqual(['h1']);
    for (const h of HOSTS.slice(1)) expect(report.hosts[h][0].status).toBe('CANCELLED');
  });
});

describe('the failure budget', () => {
  it('maxFailures 2 with 4 failing hosts: the third failure stops new hosts, the rest SKIPPED with the reason', async () => {
    // One at a time, so exactly which hosts ran is determined: h2, h3 fail, h5 is the third failure.
    const dir = dirWithFleet(fleet('{ maxFailures: 2 }', { fail: ['h2', 'h3', 'h5', 'h6'], concurrency: 1 }));
    const result = await runCli(dir, ['apply', 'deploy', '--renderer', 'plain']);
    expect(result.exitCode, result.stderr).toBe(1);
    const reason = 'failure budget exceeded: 3 of 10 hosts failed, limit 2';
    expect(result.stdout).toContain(`[h6] check SKIPPED (${reason})`);
    // The recap says why each skipped host did not complete, then why the rollout stopped.
    expect(result.stdout).toMatch(new RegExp(`^\\s+h6\\s+ok=2\\s+failed=0\\s+skipped=1\\s+${reason}$`, 'm'));
    expect(result.stdout).toContain(`rollout stopped: ${reason}`);
    expect(result.stdout).toMatch(/^run r1 FAILED: 2\/10 host\(s\) completed/m);
    const all = stamps(dir);
    // Stages strategy: every host's build ran before the budget was exceeded in the check stage,
    // then checks ran one at a time up to h5.
    expect([...all.keys()].sort()).toEqual([...HOSTS].sort());
    const checked = HOSTS.filter((h) => all.get(h)?.has('check'));
    expect(checked).toEqual(['h1', 'h2', 'h3', 'h4', 'h5']);

    const show = await runCli(dir, ['show', 'r1', '--json']);
    const commands = JSON.parse(show.stdout).commands as {
      hostId: string;
      op: string;
      status: string;
      error: string;
    }[];
    const check = Object.fromEntries(commands.filter((c) => c.op === 'check').map((c) => [c.hostId, c]));
    expect(HOSTS.map((h) => check[h]!.status)).toEqual([
      'SUCCESS',
      'ERROR',
      'ERROR',
      'SUCCESS',
      'ERROR',
      'SKIPPED',
      'SKIPPED',
      'SKIPPED',
      'SKIPPED',
      'SKIPPED',
    ]);
    for (const h of HOSTS.slice(5)) expect(check[h]!.error).toBe(reason);
  });

  it('--max-failures 0 stops at the first failure while the commands already running finish', async () => {
    // h1 fails at once; h2 and h3 are running (they wait for a gate); 3 at a time.
    const dir = dirWithFleet(
      fleet('{ strategy: stages }', { fail: ['h1'], failIn: 'build', concurrency: 3, gate: true }),
    );
    const apply = spawnCli(dir, ['apply', 'deploy', '--max-failures', '0', '--json'], { timeoutMs: 240_000 });
    const status = (host: string, op: string) => commandStatus(dir, host, op);
    // The budget is exceeded (h4 is SKIPPED) while h2 and h3 are still running their build.
    await waitFor(() => status('h4', 'build') === 'SKIPPED', 'h4 build SKIPPED');
    // They were handed out with h1, before it failed, and run on; on a busy machine their rows may
    // still say PENDING when h4's says SKIPPED (Node 24's CI run saw it), so this waits.
    await waitFor(
      () => status('h2', 'build') === 'EXECUTING' && status('h3', 'build') === 'EXECUTING',
      'h2 and h3 running their build',
    );
    writeFileSync(join(dir, 'gate'), '');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const report = JSON.parse(String(result.stdout));
    const reason = 'failure budget exceeded: 1 of 10 hosts failed, limit 0';
    expect(report).toMatchObject({ status: 'FAILED', stopped: reason });
    expect(report.hosts.h1[0]).toMatchObject({ op: 'build', status: 'ERROR' });
    for (const h of ['h2', 'h3']) {
      expect(report.hosts[h][0]).toMatchObject({ op: 'build', status: 'SUCCESS' });
      expect(report.hosts[h][1]).toMatchObject({ op: 'switch', status: 'SKIPPED', error: reason });
    }
    for (const h of HOSTS.slice(3)) {
      expect(
        report.hosts[h].every((e: { status: string; error: string }) => e.status === 'SKIPPED' && e.error === reason),
      ).toBe(true);
    }
    expect([...stamps(dir).keys()].sort()).toEqual(['h1', 'h2', 'h3']);
  });

  it('a host counts as failed while its rollback runs: no queued host starts meanwhile (CORE-009)', async () => {
    // Two at a time: h1 fails and rolls back; h2 ends only once that rollback runs, which frees a
    // slot while the test holds the rollback. When h1 counted as failed only once its rollback
    // ended, h3 and h4 started in that slot, past a budget of 0.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
settings: { concurrency: 2 }
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
ops:
  deploy:
    run: 'touch ran/$NIXFLEET_HOST; if [ "$NIXFLEET_HOST" = h1 ]; then exit 1; fi; if [ "$NIXFLEET_HOST" = h2 ]; then while [ ! -f rolling ]; do sleep 0.05; done; fi'
    rollback: 'touch rolling; while [ ! -f release ]; do sleep 0.05; done'
`,
      'ran/.keep': '',
    });
    const apply = spawnCli(dir, ['apply', 'deploy', '--max-failures', '0', '--json'], { timeoutMs: 120_000 });
    const status = (host: string) => commandStatus(dir, host, 'deploy');
    // h2 has ended while h1's rollback still runs; h3 has either been started or SKIPPED by then.
    await waitFor(
      () => status('h2') === 'SUCCESS' && status('h3') !== undefined && status('h3') !== 'PENDING',
      'h2 SUCCESS and h3 started or SKIPPED',
    );
    expect(existsSync(join(dir, 'release'))).toBe(false);
    writeFileSync(join(dir, 'release'), '');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const report = JSON.parse(String(result.stdout));
    const reason = 'failure budget exceeded: 1 of 4 hosts failed, limit 0';
    expect(report).toMatchObject({ status: 'FAILED', stopped: reason });
    expect(report.hosts.h1[0]).toMatchObject({ status: 'ERROR', rollback: { status: 'SUCCESS' } });
    expect(report.hosts.h2[0]).toMatchObject({ status: 'SUCCESS' });
    for (const h of ['h3', 'h4']) expect(report.hosts[h][0]).toMatchObject({ status: 'SKIPPED', error: reason });
    expect(readdirSync(join(dir, 'ran')).sort()).toEqual(['.keep', 'h1', 'h2']);
  });
});

describe('plan and flags', () => {
  it('plan shows the canary, the batches and the budget, in text and --json; flags override the file', async () => {
    const dir = dirWithFleet(fleet('{ canary: 1, batch: 3, maxFailures: 20%, pause: 30s }'));
    const text = await runCli(dir, ['plan', 'deploy']);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      'rollout: canary h1 first, alone; 3 batch(es), each through every stage; failure budget 2 host(s) (20%); pause 30s between batches',
    );
    expect(text.stdout).toMatch(/^ {2}canary\s+h1$/m);
    expect(text.stdout).toMatch(/^ {2}batch 1\/3\s+h2, h3, h4$/m);
    expect(text.stdout).toMatch(/^ {2}batch 3\/3\s+h8, h9, h10$/m);
    // A canary of every host (a selector that matches them all: a count is capped, below) has
    // no rest, yet stops the run at its first failure: plan says so.
    const everyHostDir = dirWithFleet(fleet("{ canary: '*' }"));
    const everyHost = await runCli(everyHostDir, ['plan', 'deploy']);
    expect(everyHost.stdout).toMatch(
      /^rollout: canary h1, h2, .*: every target host, so the first failure stops the run; no failure budget$/m,
    );
    // And the plain output names the canary as it starts.
    const applied = await runCli(everyHostDir, ['apply', 'deploy']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.stdout).toMatch(/^canary: h1, h2, /m);
    expect(applied.stdout).toContain('stage 1/3: build (canary)');
    const json = await runCli(dir, [
      'plan',
      'deploy',
      '--json',
      '--batch',
      '50%',
      '--canary',
      'h10',
      '--max-failures',
      '0',
    ]);
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout).rollout).toEqual({
      strategy: 'batches',
      canary: ['h10'],
      batches: 3,
      maxFailures: 0,
      maxFailuresSpec: '0',
      pauseMs: 30_000,
      waves: [
        { batch: 0, hosts: ['h10'] },
        { batch: 1, hosts: ['h1', 'h2', 'h3', 'h4'] },
        { batch: 2, hosts: ['h5', 'h6', 'h7', 'h8'] },
        { batch: 3, hosts: ['h9'] },
      ],
    });
  });

  it('a canary count over the run’s hosts is capped so one host waits for it; plan, apply and the report agree', async () => {
    const dir = dirWithFleet(fleet('{ canary: 3 }', { fail: ['h1'], failIn: 'build' }));
    const capped = 'canary 3 capped at 1 of 2 hosts, so at least one host waits for the canary';
    const text = await runCli(dir, ['plan', 'deploy', '--on', 'h1,h2']);
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^${capped}\n`, 'm'));
    expect(text.stdout).toContain('rollout: canary h1 first, alone; then the rest stage by stage; no failure budget');
    const json = await runCli(dir, ['plan', 'deploy', '--on', 'h1,h2', '--json']);
    expect(JSON.parse(json.stdout).rollout).toMatchObject({
      canary: ['h1'],
      canaryAsked: 3,
      waves: [
        { batch: 0, hosts: ['h1'] },
        { batch: 1, hosts: ['h2'] },
      ],
    });
    // The canary h1 fails its build: h2 waited for it, so it never starts.
    const applied = await runCli(dir, ['apply', 'deploy', '--on', 'h1,h2', '--json']);
    expect(applied.exitCode, applied.stderr).toBe(1);
    expect(applied.stderr).toMatch(new RegExp(`^nixfleet: ${capped}$`, 'm'));
    const report = JSON.parse(applied.stdout);
    expect(report).toMatchObject({ status: 'FAILED', canary: ['h1'] });
    expect(report.stopped).toMatch(/^canary failed on h1: /);
    expect(report.hosts.h1[0]).toMatchObject({ status: 'ERROR', batch: 0 });
    expect(report.hosts.h2.map((e: { status: string; batch: number }) => [e.status, e.batch])).toEqual([
      ['SKIPPED', 1],
      ['SKIPPED', 1],
      ['SKIPPED', 1],
    ]);
    expect([...stamps(dir).keys()]).toEqual(['h1']);
    // The flag is capped the same way, in the plain output too; a one-host run has its host as canary.
    const flag = await runCli(dirWithFleet(fleet('{ maxFailures: 1 }')), [
      'apply',
      'deploy',
      '--on',
      'h3,h4',
      '--canary',
      '5',
    ]);
    expect(flag.exitCode, flag.stderr).toBe(0);
    expect(flag.stderr).toContain(
      'nixfleet: canary 5 capped at 1 of 2 hosts, so at least one host waits for the canary',
    );
    expect(flag.stdout).toMatch(/^canary: h3$/m);
    expect(flag.stdout).toMatch(/^batch 1\/1: h4$/m);
    const one = await runCli(dir, ['plan', 'deploy', '--on', 'h2', '--canary', '2']);
    expect(one.stdout).toContain('canary 2 capped at 1 of 1 host, the only host of the run\n');
    expect(one.stdout).toContain('rollout: canary h2: every target host, so the first failure stops the run');
    // Nothing is said when the count fits.
    const fits = await runCli(dir, ['apply', 'deploy', '--on', 'h3,h4,h5,h6', '--json']);
    expect(fits.exitCode, fits.stderr).toBe(0);
    expect(fits.stderr).not.toContain('capped');
    expect(JSON.parse(fits.stdout).canary).toEqual(['h3', 'h4', 'h5']);
  });

  it('bad rollout flags are exit 2 with a hint, before anything runs', async () => {
    const dir = dirWithFleet(fleet('{ strategy: stages }'));
    for (const [args, message] of [
      [['--batch', '0'], '--batch must be a whole number of at least 1 or a percentage from 1% to 100%, got `0`'],
      [['--batch', '150%'], '--batch must be a whole number of at least 1 or a percentage from 1% to 100%, got `150%`'],
      [
        ['--max-failures', 'lots'],
        '--max-failures must be a whole number of at least 0 or a percentage from 0% to 100%, got `lots`',
      ],
      [['--canary', 'web9'], 'unknown host `web9`'],
      [['--canary', '0'], '--canary needs hosts or a number of at least 1, got `0`'],
      [['--canary', '50%'], '--canary is a number of hosts or a selector, not a percentage, got `50%`'],
    ] as const) {
      const result = await runCli(dir, ['apply', 'deploy', ...args]);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain(message);
      expect(result.stderr).not.toMatch(/^\s+at /m);
    }
    expect(existsSync(join(dir, '.nixfleet'))).toBe(false);
  });
});

describe('controller ops in a rollout', () => {
  /** Five local hosts; every command appends `<op> <host>` to order.log as it runs. */
  const rolloutFleet = (ops: string, rollout: string, failOn = '') => `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {} }
ops:
  build: { runsOn: controller, run: 'echo "build $NIXFLEET_HOSTS" >> order.log' }
  deploy: { run: 'echo "deploy $NIXFLEET_HOST" >> order.log; [ "$NIXFLEET_HOST" != "${failOn}" ]' }
  report: { runsOn: controller, run: 'echo report >> order.log' }
  check: { run: 'true' }
pipelines:
  ship: { ops: [${ops}], rollout: ${rollout} }
`;
  const order = (dir: string) => readFileSync(join(dir, 'order.log'), 'utf8').trim().split('\n');

  it('one that comes first runs once, before the canary; the batches find it done', async () => {
    const dir = makeTempDir({ 'fleet.yaml': rolloutFleet('build, deploy', '{ canary: 1, batch: 2 }') });
    expect((await runCli(dir, ['plan', 'ship'])).stdout).toContain('once, on the controller, before the first wave)');
    const result = await runCli(dir, ['apply', 'ship', '--json']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = order(dir);
    expect(lines.slice(0, 2)).toEqual(['build h1,h2,h3,h4,h5', 'deploy h1']);
    expect(lines.slice(2, 4).sort()).toEqual(['deploy h2', 'deploy h3']);
    expect(lines.slice(4).sort()).toEqual(['deploy h4', 'deploy h5']);
    const report = JSON.parse(result.stdout);
    expect(report.status).toBe('COMPLETE');
    expect(report.hosts['@controller'].map((e: { op: string; batch: number }) => [e.op, e.batch])).toEqual([
      ['build', 0],
    ]);
  });

  it('one that comes last and never ran: the recap says so for the hosts whose own ops succeeded', async () => {
    const dir = makeTempDir({
      'fleet.yaml': rolloutFleet('build, deploy, report', '{ canary: 1, batch: 2, maxFailures: 0 }', 'h4'),
    });
    const result = await runCli(dir, ['apply', 'ship', '--renderer', 'plain']);
    expect(result.exitCode, result.stderr).toBe(1);
    // No host completes without its controller ops: the status line counts none, and the recap,
    // which listed h1-h3 as completed with no reason, now says why not.
    expect(result.stdout).toContain('run r1 FAILED: 0/5 host(s) completed');
    for (const host of ['h1 \\[canary\\]', 'h2 \\[batch 1/2\\]', 'h3 \\[batch 1/2\\]']) {
      expect(result.stdout).toMatch(
        new RegExp(`^ {2}${host}\\s+ok=1\\s+failed=0\\s+skipped=0\\s+controller op report SKIPPED$`, 'm'),
      );
    }
    expect(result.stdout).toMatch(/^ {2}h4 \[batch 2\/2\]\s+ok=0\s+failed=1\s+skipped=0\s+deploy ERROR: exit code 1$/m);
  });

  it('one that comes last runs once, after the last batch, even when a host of the last batch failed', async () => {
    const dir = makeTempDir({
      'fleet.yaml': rolloutFleet('deploy, report', '{ batch: 2, maxFailures: 1 }', 'h5'),
    });
    expect((await runCli(dir, ['plan', 'ship'])).stdout).toContain('once, on the controller, after the last wave)');
    const result = await runCli(dir, ['apply', 'ship', '--renderer', 'plain']);
    expect(result.exitCode, result.stderr).toBe(1);
    const lines = order(dir);
    expect(lines).toHaveLength(6);
    expect(lines.at(-1)).toBe('report');
    // The controller runs once per run: the recap names no batch for it, as it does for hosts.
    expect(result.stdout).toMatch(/^ {2}controller\s+ok=1\s/m);
    expect(result.stdout).toMatch(/^ {2}h5 \[batch 3\/3\]\s+ok=0/m);
    const shown = JSON.parse((await runCli(dir, ['show', 'r1', '--json'])).stdout);
    expect(shown.run.status).toBe('PARTIAL');
    const controller = shown.commands.filter((c: { hostId: string }) => c.hostId === '@controller');
    expect(controller.map((c: { op: string; status: string; batch: number }) => [c.op, c.status, c.batch])).toEqual([
      ['report', 'SUCCESS', 3],
    ]);
  });

  it('one between host ops is refused with a rollout of several waves, at its place in the file or for the flags', async () => {
    const dir = makeTempDir({ 'fleet.yaml': rolloutFleet('deploy, build, check', '{ strategy: stages }') });
    const flags = await runCli(dir, ['apply', 'ship', '--batch', '2']);
    expect(flags.exitCode, flags.stderr).toBe(2);
    expect(flags.stderr).toContain(
      'controller op `build` runs once per run, between host ops, so `ship` cannot run in batches',
    );
    expect(flags.stderr).toContain('move the op first or last in its pipeline');
    expect(existsSync(join(dir, 'order.log'))).toBe(false);
    // One wave is fine: the op runs at its place, once.
    const single = await runCli(dir, ['apply', 'ship']);
    expect(single.exitCode, single.stderr).toBe(0);
    expect(order(dir).filter((line) => line.startsWith('build'))).toHaveLength(1);
  });
});
