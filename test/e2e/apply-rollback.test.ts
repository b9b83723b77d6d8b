// `rollback:` end to end (see CORE-009): the real CLI on local hosts, a real journal. A rollback
// runs only where its op failed, is journaled as its own command and shown everywhere; a failed
// rollback exits 4; `--no-rollback` turns rollbacks off; armed timers fire or stay quiet.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { waitFor, waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { parseXml } from '../ui/support/xml-well-formed.js';

vi.setConfig({ testTimeout: 120_000 });

// Each host writes `state-HOST`; `b` fails every op that reads `$FAIL`, and its rollback
// restores the file. `broken-rollback` fails and so does its rollback.
const FLEET = `version: 1
hosts:
  a: { vars: { fail: "" } }
  b: { vars: { fail: "yes" } }
ops:
  change:
    run: echo changed > state-{{ host.name }}; echo changing {{ host.name }}; test -z "$FAIL"
    env: { FAIL: "{{ host.vars.fail }}" }
    rollback: echo "undo $NIXFLEET_ROLLBACK_OF on" {{ host.name }}; echo restored > state-{{ host.name }}
  checked:
    run: echo changed > state-{{ host.name }}
    postcheck: test -z "$FAIL"
    env: { FAIL: "{{ host.vars.fail }}" }
    rollback: echo restored > state-{{ host.name }}
  slow:
    run: echo changed > state-{{ host.name }}; test -z "$FAIL" || sleep 30
    env: { FAIL: "{{ host.vars.fail }}" }
    timeout: 1s
    rollback:
      run: echo restored > state-{{ host.name }}
      timeout: 20s
  broken-rollback:
    run: echo changed > state-{{ host.name }}; test -z "$FAIL"
    env: { FAIL: "{{ host.vars.fail }}" }
    rollback: echo "cannot undo"; exit 7
  after:
    run: echo after > after-{{ host.name }}
  held:
    run: exit 1
    rollback: i=0; while [ ! -e release ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done
  nowhere:
    run: echo changed > state-{{ host.name }}
    cwd: no-such-directory
    rollback: echo restored > ../state-{{ host.name }}
  armed-ok:
    run: echo changed > state-{{ host.name }}
    rollback:
      run: echo restored > state-{{ host.name }}
      armed: 2s
  armed-retry:
    run: echo "changed by $NIXFLEET_RUN_ID" > state-{{ host.name }}; if [ "$NIXFLEET_RUN_ID" = r1 ]; then sleep 30; fi
    retryable: true
    rollback:
      run: echo "rolled back $NIXFLEET_RUN_ID" > state-{{ host.name }}
      armed: 3s
  armed-late:
    run: echo changed > state-{{ host.name }}; sleep 3; echo still running > late-{{ host.name }}
    rollback:
      run: echo timer > state-{{ host.name }}; echo from the timer
      armed: 1s
  armed-again:
    run: echo attempt >> attempts-{{ host.name }}; echo changed > state-{{ host.name }}; if [ ! -e failed-once ]; then touch failed-once; sleep 2; exit 1; fi
    retryable: true
    retries: 1
    rollback:
      run: echo timer > state-{{ host.name }}
      armed: 1s
  armed-gone:
    run: rm -rf "$HOME/.nixfleet/armed"
    rollback:
      run: echo restored > state-{{ host.name }}
      armed: 30s
  armed-wait:
    run: echo started >> started-{{ host.name }}; i=0; while [ ! -e release ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done; echo changed > state-{{ host.name }}
    rollback:
      run: echo restored > state-{{ host.name }}
      armed: 20s
pipelines:
  deploy: { ops: [change, after] }
`;

let dir: string;
beforeEach(() => {
  dir = makeTempDir({ 'fleet.yaml': FLEET, 'home/.keep': '' });
});
const state = (host: string) => readFileSync(join(dir, `state-${host}`), 'utf8').trim();
// The armed timer keeps its state under $HOME: a home of the test's own.
const cli = (args: string[]) => runCli(dir, args, { env: { HOME: join(dir, 'home') } });

describe('rollback', () => {
  it('runs only where the op failed, as its own journaled command, shown by show, logs, --json and JUnit', async () => {
    const result = await cli(['apply', 'deploy', '--json', '--junit', 'report.xml']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(state('a')).toBe('changed');
    expect(state('b')).toBe('restored');
    expect(existsSync(join(dir, 'after-b'))).toBe(false);

    const report = JSON.parse(result.stdout);
    expect(report.hosts.a[0]).not.toHaveProperty('rollback');
    expect(report.hosts.b[0]).toMatchObject({ op: 'change', status: 'ERROR', exitCode: 1 });
    expect(report.hosts.b[0].rollback).toEqual({
      commandId: expect.stringMatching(/^c\d+$/),
      status: 'SUCCESS',
      exitCode: 0,
      durationMs: expect.any(Number),
      error: null,
    });
    expect(report.hosts.b[1]).toMatchObject({ op: 'after', status: 'SKIPPED' });
    const rollbackId = report.hosts.b[0].rollback.commandId as string;

    const shown = JSON.parse((await cli(['show', report.runId, '--json'])).stdout);
    const rollbacks = shown.commands.filter((c: { rollbackOf: string | null }) => c.rollbackOf !== null);
    const failed = shown.commands.find((c: { hostId: string; op: string }) => c.hostId === 'b' && c.op === 'change');
    expect(rollbacks).toEqual([
      expect.objectContaining({ id: rollbackId, hostId: 'b', op: 'change', stage: 0, status: 'SUCCESS' }),
    ]);
    expect(rollbacks[0].rollbackOf).toBe(failed.id);
    expect(rollbacks[0].outputFile).not.toBe(failed.outputFile);

    const text = (await cli(['show', report.runId])).stdout;
    expect(text).toContain(`${rollbackId} [b] change: rollback of ${failed.id} SUCCESS`);
    expect(text).toMatch(/^b\s+ERROR\(1\) \S+\s+SKIPPED$/m);

    const logs = await cli(['logs', rollbackId]);
    expect(logs.stdout).toBe(`undo ${failed.id} on b`);
    const runLogs = (await cli(['logs', report.runId, '--host', 'b'])).stdout;
    expect(runLogs).toContain(`==> ${rollbackId} [b] change rollback of ${failed.id} SUCCESS <==\nundo`);
    expect(runLogs).toContain(`==> ${failed.id} [b] change ERROR <==\nchanging b\n`);

    const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
    parseXml(xml);
    expect(xml).toMatch(/<testcase classname="deploy.change" name="b rollback" time="[0-9.]+"\/>/);
    expect(xml).toContain('<testsuite name="1. change" tests="3" failures="1"');
  });

  it('a failed postcheck and a timeout are rolled back too', async () => {
    const checked = await cli(['apply', 'checked', '--json']);
    expect(checked.exitCode, checked.stderr).toBe(1);
    expect(JSON.parse(checked.stdout).hosts.b[0].rollback.status).toBe('SUCCESS');
    expect(state('b')).toBe('restored');
    expect(state('a')).toBe('changed');

    const slow = await cli(['apply', 'slow', '--json']);
    expect(slow.exitCode, slow.stderr).toBe(1);
    const entry = JSON.parse(slow.stdout).hosts.b[0];
    expect(entry.status).toBe('TIMEOUT');
    expect(entry.rollback.status).toBe('SUCCESS');
    expect(state('b')).toBe('restored');
  });

  it('a rollback that fails is loud: exit 4, a line on stderr, JUnit failure, `show` says a person is needed', async () => {
    const result = await cli(['apply', 'broken-rollback', '--junit', 'report.xml']);
    expect(result.exitCode, result.stderr).toBe(4);
    expect(result.stdout).toMatch(/^\[b\] broken-rollback rollback ERROR \(\d+\.\ds\): rollback failed \(exit 7\)$/m);
    expect(result.stdout).toContain('[b]   | cannot undo');
    // The plain lines in order: the op's failure, that it rolls back, the rollback's failure,
    // then (CORE-002's recap) the host's reason with the rollback's outcome.
    expect(result.stdout).toMatch(
      /^\[b\] broken-rollback ERROR .*\n(?:.*\n)*?\[b\] broken-rollback rolling back\n(?:.*\n)*?\[b\] broken-rollback rollback ERROR/m,
    );
    expect(result.stdout).toMatch(
      /^\s+b\s+ok=0 .*broken-rollback ERROR: .*, rollback ERROR \(\d+\.\ds\): b needs a person$/m,
    );
    expect(result.stderr).toMatch(
      /^nixfleet: rollback (c\d+) of broken-rollback on b ERROR: rollback failed \(exit 7\); b needs a person \(`nixfleet logs \1`\)$/m,
    );
    const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
    expect(xml).toContain('name="b rollback"');
    expect(xml).toContain('<failure type="ERROR" message="rollback failed (exit 7)">cannot undo</failure>');
    const runId = /^run (r\d+)/m.exec(result.stdout)![1]!;
    const shown = (await cli(['show', runId])).stdout;
    expect(shown).toMatch(/rollback of c\d+ ERROR\(7\) \S+; b needs a person/);
  });

  it('the host stays claimed until its rollback ends: another run on it is refused (exit 3)', async () => {
    const first = spawnCli(dir, ['apply', 'held', '--on', 'b'], { env: { HOME: join(dir, 'home') } });
    const rollbackRuns = async () => {
      const shown = await cli(['show', 'r1', '--json']);
      if (shown.exitCode !== 0) return false;
      const commands = JSON.parse(shown.stdout).commands as { rollbackOf: string | null; status: string }[];
      return commands.some((c) => c.rollbackOf !== null && c.status === 'EXECUTING');
    };
    const deadline = Date.now() + 30_000;
    while (!(await rollbackRuns())) {
      expect(Date.now(), 'the rollback never started').toBeLessThan(deadline);
      await sleep(100);
    }
    const second = await cli(['apply', 'after', '--on', 'b']);
    writeFileSync(join(dir, 'release'), '');
    expect(second.exitCode, second.stderr).toBe(3);
    expect(second.stderr).toMatch(/b.*busy|busy.*b/);
    expect((await first).exitCode).toBe(1);
  });

  it('an op whose command never started (the transport failed first) is not rolled back', async () => {
    const result = await cli(['apply', 'nowhere', '--on', 'a', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const entry = JSON.parse(result.stdout).hosts.a[0];
    expect(entry.error).toMatch(/^local: cannot start \/bin\/sh in .*no-such-directory/);
    expect(entry).not.toHaveProperty('rollback');
    const shown = JSON.parse((await cli(['show', JSON.parse(result.stdout).runId, '--json'])).stdout);
    expect(shown.commands.map((c: { rollbackOf: string | null }) => c.rollbackOf)).toEqual([null]);
  });

  it('--no-rollback runs no rollback and journals none', async () => {
    const result = await cli(['apply', 'deploy', '--no-rollback', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(state('b')).toBe('changed');
    const report = JSON.parse(result.stdout);
    expect(report.hosts.b[0]).not.toHaveProperty('rollback');
    const shown = JSON.parse((await cli(['show', report.runId, '--json'])).stdout);
    expect(shown.commands.filter((c: { rollbackOf: string | null }) => c.rollbackOf !== null)).toEqual([]);
  });

  it('--no-rollback needs nothing only a rollback uses: neither its secret nor its host value', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  vault: { command: "echo the vault is sealed >&2; exit 3" }
hosts: { a: {}, b: { vars: { backup: /srv/backup } } }
ops:
  with-secret:
    run: echo ran > ran-secret
    rollback: restore --token {{ secret.vault }}
  with-value:
    run: echo ran > ran-value
    rollback: restore --from {{ host.vars.backup }}
`,
    });
    const refused = await runCli(dir, ['apply', 'with-secret', '--on', 'a']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('secret `vault`');
    const undefinedValue = await runCli(dir, ['apply', 'with-value', '--on', 'a']);
    expect(undefinedValue.exitCode).toBe(2);
    expect(undefinedValue.stderr).toContain('which host `a` does not define');
    expect(existsSync(join(dir, 'ran-secret')) || existsSync(join(dir, 'ran-value'))).toBe(false);

    for (const op of ['with-secret', 'with-value']) {
      const result = await runCli(dir, ['apply', op, '--on', 'a', '--no-rollback']);
      expect(result.exitCode, result.stderr).toBe(0);
      const plan = await runCli(dir, ['plan', op, '--on', 'a', '--no-rollback', '--json']);
      expect(plan.exitCode, plan.stderr).toBe(0);
      expect(JSON.parse(plan.stdout).stages[0].commands[0]).not.toHaveProperty('rollback');
    }
    expect(readFileSync(join(dir, 'ran-secret'), 'utf8')).toBe('ran\n');
    expect(readFileSync(join(dir, 'ran-value'), 'utf8')).toBe('ran\n');
  });

  it('plan shows each host’s rendered rollback and the armed delay', async () => {
    const plan = await cli(['plan', 'armed-ok', '--on', 'b']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain('armed-ok (timeout 10m, rollback timeout 10m, armed 2s)');
    expect(plan.stdout).toContain('rollback  $ echo restored > state-b');
    const json = JSON.parse((await cli(['plan', 'slow', '--json'])).stdout);
    expect(json.stages[0].rollback).toEqual({ timeoutMs: 20_000, armedMs: null });
    expect(json.stages[0].commands[0].rollback).toBe('echo restored > state-a');
  });
});

describe('armed rollback on a local host', () => {
  it('a success disarms the timer: after the delay the rollback has not run', async () => {
    const result = await cli(['apply', 'armed-ok', '--on', 'a', '--renderer', 'plain']);
    expect(result.exitCode, result.stderr).toBe(0);
    // The delay as the fleet file spells it, as `plan` shows it.
    expect(result.stdout).toContain('[a] armed-ok rollback timer disarmed (armed 2s)');
    const runId = /^run (r\d+)/m.exec(result.stdout)![1]!;
    const shown = JSON.parse((await cli(['show', runId, '--json'])).stdout);
    expect(shown.commands[0].armed).toEqual({ delayMs: 2000, state: 'disarmed' });
    // Twice the delay, then the file is still what the op wrote.
    await sleep(4000);
    expect(state('a')).toBe('changed');
  });

  it('a retry after nixfleet died takes over the timer the dead run left: it never undoes the retry', async () => {
    const first = spawnCli(dir, ['apply', 'armed-retry', '--on', 'a'], { env: { HOME: join(dir, 'home') } });
    await waitForFile(join(dir, 'state-a'));
    first.kill('SIGKILL');
    await first;
    const retry = await cli(['retry', 'r1']);
    expect(retry.exitCode, retry.stderr).toBe(0);
    expect(state('a')).toBe('changed by r2');
    // r1's timer was due 3 s after it was armed; past that, the retry's change still stands.
    await sleep(5000);
    expect(state('a')).toBe('changed by r2');
    const logs = await cli(['logs', 'r2', '--host', 'a']);
    expect(logs.stdout).toMatch(/took over the armed rollback left by an earlier run \(r1-c1-[0-9a-f]+\)/);
  });

  it('two journals arming one op on one host (two data directories, one home) each keep their own timer', async () => {
    // Two teammates' journals, each with its own run r1: neither takes the other's timer over.
    const apply = (dataDir: string) =>
      spawnCli(dir, ['apply', 'armed-wait', '--on', 'a', '--data-dir', dataDir, '--renderer', 'plain'], {
        env: { HOME: join(dir, 'home') },
      });
    const started = () => (existsSync(join(dir, 'started-a')) ? readFileSync(join(dir, 'started-a'), 'utf8') : '');
    const first = apply('journal-one');
    // The timer is armed before the op's command starts.
    await waitFor(() => started() === 'started\n', 'the first op started');
    const second = apply('journal-two');
    await waitFor(() => started() === 'started\nstarted\n', 'the second op started');
    writeFileSync(join(dir, 'release'), '');
    const [one, two] = await Promise.all([first, second]);
    for (const result of [one, two]) {
      const [stdout, stderr] = [String(result.stdout), String(result.stderr)];
      expect(result.exitCode, stdout + stderr).toBe(0);
      expect(stdout).toContain('[a] armed-wait rollback timer disarmed (armed 20s)');
      expect(stdout).not.toContain('took over');
    }
    expect(state('a')).toBe('changed');
  });

  it('a killed op leaves its timer armed: apply says the host rolls it back, exit 130, and it does', async () => {
    const first = spawnCli(dir, ['apply', 'armed-retry', '--on', 'a'], { env: { HOME: join(dir, 'home') } });
    await waitForFile(join(dir, 'state-a'));
    const cancel = await cli(['cancel', 'r1', '--kill']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    const result = await first;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain(
      'nixfleet: armed-retry on a was killed while its rollback was armed (3s); nothing confirmed the change, so a rolls it back when the timer fires, unless a run from this journal runs armed-retry there first',
    );
    expect(result.stderr).not.toContain('needs a person');
    // The timer was due 3 s after it was armed.
    await waitFor(() => state('a') === 'rolled back r1', 'the timer rolled a back', 15_000);
  });

  it('the log a fired timer leaves on the host holds no `env:` secret nixfleet had, used by the op or not (CORE-010)', async () => {
    const secretsDir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  used: { env: USED_SECRET }
  unused: { env: UNUSED_SECRET }
hosts: { a: {} }
ops:
  armed-env:
    run: echo with {{ secret.used }} > /dev/null; touch started; sleep 30
    rollback:
      run: echo "undoing $NIXFLEET_ROLLBACK_OF"; env | grep _SECRET= | sort
      armed: 1s
`,
      'home/.keep': '',
    });
    const env = { HOME: join(secretsDir, 'home'), USED_SECRET: 'used-value-123', UNUSED_SECRET: 'unused-value-456' };
    const run = spawnCli(secretsDir, ['apply', 'armed-env'], { env });
    await waitForFile(join(secretsDir, 'started'));
    expect((await runCli(secretsDir, ['cancel', 'r1', '--kill'], { env })).exitCode).toBe(0);
    expect((await run).exitCode).toBe(130);
    // The timer's directory stays on the host: nixfleet is gone and never reads it back.
    const armed = join(secretsDir, 'home/.nixfleet/armed');
    await waitFor(
      () => readdirSync(armed).some((name) => existsSync(join(armed, name, 'exit'))),
      'the timer fired',
      15_000,
    );
    const [timer] = readdirSync(armed);
    const log = readFileSync(join(armed, timer ?? '', 'log'), 'utf8');
    expect(log).toContain('undoing c1\n');
    expect(log).toContain('UNUSED_SECRET=***\n');
    expect(log).toContain('USED_SECRET=***\n');
    expect(log).not.toContain('value-123');
    expect(log).not.toContain('value-456');
  });

  it('no automatic retry starts once the timer is due: it would make the change again after the rollback', async () => {
    // The first attempt would fail two seconds after arming; it is killed before the timer (1s) is due.
    const result = await cli(['apply', 'armed-again', '--on', 'a', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const entry = JSON.parse(result.stdout).hosts.a[0];
    expect(entry).toMatchObject({
      status: 'TIMEOUT',
      error: 'killed before its armed rollback was due (armed 1s), so that the rollback does not run beside it',
      armed: { delayMs: 1000 },
    });
    // nixfleet's claim and the timer race from here: either way the rollback ran once, after the op.
    expect(['disarmed', 'fired']).toContain(entry.armed.state);
    expect(entry.rollback).toMatchObject({ status: 'SUCCESS' });
    // One attempt: the timer's rollback is the host's last word, as the report says.
    expect(readFileSync(join(dir, 'attempts-a'), 'utf8').trim().split('\n')).toEqual(['attempt']);
    expect(state('a')).toBe('timer');
    const logs = await cli(['logs', 'r1', '--host', 'a']);
    expect(logs.stdout).toContain('no attempt 2: the armed rollback was due, the host rolls the change back');
  });

  it('a timer whose state is gone from the host: the error does not send a person to look for it there', async () => {
    const result = await cli(['apply', 'armed-gone', '--on', 'a', '--json']);
    expect(result.exitCode, result.stderr).toBe(4);
    const entry = JSON.parse(result.stdout).hosts.a[0];
    expect(entry).toMatchObject({ status: 'ERROR', armed: { delayMs: 30_000, state: 'unknown' } });
    expect(entry.error).toBe("the armed rollback's state is gone from the host; nixfleet cannot tell whether it fired");
    expect(entry.rollback.status).toBe('ERROR');
    expect(entry.rollback.error).toMatch(
      /^the armed rollback's outcome is unknown \(timer state missing\); ~\/\.nixfleet\/armed\/r1-c\d+-[0-9a-f]{12}\/ is gone from the host$/,
    );
    expect(existsSync(join(dir, 'home', '.nixfleet', 'armed'))).toBe(false);
  });

  it('an op still running at its armed deadline is killed first: the rollback never runs beside it', async () => {
    const result = await cli(['apply', 'armed-late', '--on', 'a', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    const entry = JSON.parse(result.stdout).hosts.a[0];
    expect(entry).toMatchObject({
      status: 'TIMEOUT',
      error: 'killed before its armed rollback was due (armed 1s), so that the rollback does not run beside it',
    });
    expect(['disarmed', 'fired']).toContain(entry.armed.state);
    expect(entry.rollback).toMatchObject({ status: 'SUCCESS', exitCode: 0 });
    // The op wrote `changed` first, then was killed; the rollback wrote after it, and nothing of the
    // op's wrote after the rollback (it would have three seconds after arming).
    await sleep(3000);
    expect(existsSync(join(dir, 'late-a'))).toBe(false);
    expect(state('a')).toBe('timer');
    const logs = await cli(['logs', entry.rollback.commandId]);
    expect(logs.stdout).toContain('from the timer');
  });
});
