// The armed rollback timer's scripts (see CORE-009), run by a real /bin/sh with a home of the
// test's own: the race for `token` has exactly one winner, and what the timer did is read back.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import {
  armScript,
  CANNOT_ENTER,
  claimScript,
  parseTimerReply,
  statusScript,
  type TimerOwner,
  type TimerSpec,
  timerOwner,
} from '../../src/engine/armed-timer.js';
import { waitForFile } from './support/wait-for.js';

const home = mkdtempSync(join(tmpdir(), 'nixfleet-armed-'));
afterAll(() => rmSync(home, { recursive: true, force: true }));
/** A timer of `op` on `host` armed by the journal `journal` (its `Journal.id`). */
const of = (host: string, op: string, journal = 'a1a1a1'): TimerOwner => timerOwner(host, op, journal);
/** A timer that runs `rollback` with /bin/sh after `delayMs`. */
const timer = (delayMs: number, rollback: string, owner: TimerOwner, secretVariables: string[] = []): TimerSpec => ({
  delayMs,
  shell: '/bin/sh',
  rollback,
  owner,
  secretVariables,
});
/** A host environment: the test's home, this PATH, and `extra`. */
const withPath = (extra: Record<string, string>) => ({
  HOME: home,
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  ...extra,
});
/** Arms `spec` as `name` with `env`, waits for the timer to fire and finish, and returns its log. */
const firedLog = async (name: string, spec: TimerSpec, env: Record<string, string>) => {
  await execa('/bin/sh', ['-c', armScript(name, spec)], { env, cwd: home });
  const dir = join(home, '.nixfleet/armed', name);
  await waitForFile(join(dir, 'exit'));
  return readFileSync(join(dir, 'log'), 'utf8');
};
const sh = async (script: string) => {
  const result = await execa('/bin/sh', ['-c', script], {
    env: { HOME: home },
    cwd: home,
    timeout: 10_000,
    stripFinalNewline: false,
  });
  return parseTimerReply(String(result.stdout));
};

describe('the armed timer on a host', () => {
  it('claimed before it fires: the rollback never runs', async () => {
    expect(await sh(armScript('r1-c1-a', timer(1000, 'touch rolled-back', of('web1', 'switch'))))).toEqual({
      kind: 'armed',
    });
    expect(await sh(statusScript('r1-c1-a'))).toEqual({ kind: 'armed' });
    // The command waits in a private file, never on a command line `ps` shows to other users.
    const dir = join(home, '.nixfleet/armed/r1-c1-a');
    expect(readFileSync(join(dir, 'rollback'), 'utf8')).toBe('touch rolled-back\n');
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    expect(statSync(join(dir, 'rollback')).mode & 0o777).toBe(0o600);
    const cmdlines = readdirSync('/proc')
      .filter((pid) => /^[0-9]+$/.test(pid))
      .map((pid) => {
        try {
          return readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        } catch {
          return '';
        }
      });
    expect(cmdlines.some((line) => line.includes('nixfleet-armed'))).toBe(true);
    expect(cmdlines.some((line) => line.includes('touch rolled-back'))).toBe(false);
    expect(await sh(claimScript('r1-c1-a'))).toEqual({ kind: 'claimed' });
    await sleep(2500);
    expect(existsSync(join(home, 'rolled-back'))).toBe(false);
    expect(await sh(statusScript('r1-c1-a'))).toEqual({ kind: 'missing' });
  });

  it('fired first: a claim loses and reads the rollback’s exit status and output, once', async () => {
    await sh(armScript('r1-c2-b', timer(1000, 'echo "it\'s undone; $HOME"; exit 7', of('web1', 'switch'))));
    const exitFile = join(home, '.nixfleet/armed/r1-c2-b/exit');
    const deadline = Date.now() + 15_000;
    while (!existsSync(exitFile)) {
      expect(Date.now(), 'the timer never finished').toBeLessThan(deadline);
      await sleep(100);
    }
    expect(await sh(claimScript('r1-c2-b'))).toEqual({ kind: 'done', exitCode: 7, log: `it's undone; ${home}\n` });
    expect(await sh(statusScript('r1-c2-b'))).toEqual({ kind: 'missing' });
  });

  it('a new timer of the same op on the same host takes over an earlier one still waiting; others are left alone', async () => {
    // r1's timers were left when its nixfleet died: web1's and web2's `switch`, web1's `migrate`.
    await sh(armScript('r1-c1-x', timer(1500, 'touch r1-web1-switch', of('web1', 'switch'))));
    await sh(armScript('r1-c2-x', timer(1500, 'touch r1-web2-switch', of('web2', 'switch'))));
    await sh(armScript('r1-c3-x', timer(1500, 'touch r1-web1-migrate', of('web1', 'migrate'))));
    // A retry arms web1's `switch` again.
    const armed = await execa(
      '/bin/sh',
      ['-c', armScript('r2-c9-y', timer(60_000, 'touch r2', of('web1', 'switch')))],
      {
        env: { HOME: home },
        cwd: home,
      },
    );
    expect(parseTimerReply(String(armed.stdout))).toEqual({ kind: 'armed' });
    expect(String(armed.stdout).split('\n')).toContain('superseded r1-c1-x');
    await sleep(3000);
    expect(existsSync(join(home, 'r1-web1-switch'))).toBe(false);
    expect(existsSync(join(home, 'r1-web2-switch'))).toBe(true);
    expect(existsSync(join(home, 'r1-web1-migrate'))).toBe(true);
    expect(await sh(claimScript('r2-c9-y'))).toEqual({ kind: 'claimed' });
  });

  it('takes over only the timers of its own journal: another journal’s, on the same host and op, fires as set', async () => {
    /** Arms a timer; the names of those it took over. */
    const arm = async (name: string, delayMs: number, rollback: string, owner: TimerOwner) => {
      const armed = await execa('/bin/sh', ['-c', armScript(name, timer(delayMs, rollback, owner))], {
        env: { HOME: home },
        cwd: home,
      });
      expect(parseTimerReply(String(armed.stdout))).toEqual({ kind: 'armed' });
      return [...String(armed.stdout).matchAll(/^superseded (\S+)$/gm)].map((match) => match[1]).sort();
    };
    // Two journals deploy web1's `switch` (two teammates' data directories, both with a run r1):
    // journal b1b1b1's timer guards a change its own nixfleet has not confirmed yet.
    expect(await arm('r1-c1-o', 1500, 'touch other-journal', of('web1', 'switch', 'b1b1b1'))).toEqual([]);
    // Journal a1a1a1 arms the same host and op, in a run that then dies: b1b1b1's is not its own.
    expect(await arm('r1-c1-d', 1500, 'touch dead-run', of('web1', 'switch', 'a1a1a1'))).toEqual([]);
    expect(readFileSync(join(home, '.nixfleet/armed/r1-c1-d/owner'), 'utf8')).toBe('web1 switch a1a1a1');
    // A timer armed by a nixfleet from before journal ids: its `owner` names no journal.
    expect(await arm('r1-c1-l', 1500, 'touch older-nixfleet', of('web1', 'switch', 'c1c1c1'))).toEqual([]);
    writeFileSync(join(home, '.nixfleet/armed/r1-c1-l/owner'), 'web1 switch');
    // a1a1a1's next run of `switch` on web1 takes over its own dead run's timer and the older one.
    expect(await arm('r2-c9-z', 60_000, 'touch r2', of('web1', 'switch', 'a1a1a1'))).toEqual(['r1-c1-d', 'r1-c1-l']);
    await waitForFile(join(home, '.nixfleet/armed/r1-c1-o/exit'));
    // The three were due together: a second later the two taken over have still not run.
    await sleep(1000);
    expect(existsSync(join(home, 'dead-run'))).toBe(false);
    expect(existsSync(join(home, 'older-nixfleet'))).toBe(false);
    // The other journal's nixfleet finds its timer where it left it, fired as set.
    expect(await sh(claimScript('r1-c1-o'))).toEqual({ kind: 'done', exitCode: 0, log: '' });
    expect(await sh(claimScript('r2-c9-z'))).toEqual({ kind: 'claimed' });
  });

  it('keeps no secret value in its log on the host: each is `***` there and in the reply', async () => {
    const env = withPath({
      NIXFLEET_SECRET_TOKEN: 'hunter2-secret',
      // A value inside another: the longer one is replaced whole, never leaving a part behind.
      NIXFLEET_SECRET_SHORT: 'hunter',
      NIXFLEET_SECRET_KEY: 'line-one-xyz\nline-two-abc',
    });
    const rollback =
      'echo "token=$NIXFLEET_SECRET_TOKEN; short=$NIXFLEET_SECRET_SHORT"; printf "%s\\n" "$NIXFLEET_SECRET_KEY"; exit 3';
    await execa('/bin/sh', ['-c', armScript('r1-c4-s', timer(1000, rollback, of('web1', 'switch')))], {
      env,
      cwd: home,
    });
    const dir = join(home, '.nixfleet/armed/r1-c4-s');
    await waitForFile(join(dir, 'exit'));
    // The two-line value is one `***`, as nixfleet's redactor makes it.
    const log = 'token=***; short=***\n***\n';
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe(log);
    expect(await sh(statusScript('r1-c4-s'))).toEqual({ kind: 'done', exitCode: 3, log });
  });

  it('hides two values printed overlapping whole, as one ***, and values side by side each as one', async () => {
    const env = withPath({
      NIXFLEET_SECRET_A: 'Alpha-XYZ-shared',
      NIXFLEET_SECRET_B: 'shared-Bravo-987',
    });
    const rollback = 'echo "key $NIXFLEET_SECRET_A-Bravo-987 done"; echo "$NIXFLEET_SECRET_B$NIXFLEET_SECRET_B x"';
    const log = await firedLog('r1-c8-o', timer(1000, rollback, of('web1', 'switch')), env);
    expect(log).toBe('key *** done\n****** x\n');
  });

  it('hides each line of a value written with CRLF line ends, as nixfleet does', async () => {
    const env = withPath({ NIXFLEET_SECRET_K: 'other-line-1\r\nother-line-2' });
    const log = await firedLog(
      'r1-c9-r',
      timer(1000, 'echo "says other-line-1 and other-line-2"', of('web1', 'k')),
      env,
    );
    expect(log).toBe('says *** and ***\n');
  });

  it('hides a multi-line value whole across the lines it spans, however short each line', async () => {
    const env = withPath({
      NIXFLEET_SECRET_ML: 'ab\ncd\nef\ngh',
      NIXFLEET_SECRET_CR: 'Line-1\r\nx\r\nLine-3',
    });
    const rollback = [
      'printf "before\\n"',
      'printf "ml=%s tail\\n" "$NIXFLEET_SECRET_ML"',
      'printf "cr=%s!\\n" "$NIXFLEET_SECRET_CR"',
      // Its lines alone are not the value: left as they are, short ones and all.
      'printf "ab\\ncd\\nlast\\n"',
    ].join('; ');
    const log = await firedLog('r1-c10-m', timer(1000, rollback, of('web1', 'ml')), env);
    // Before, each line was looked at alone, and lines under 6 characters were never hidden.
    expect(log).toBe('before\nml=*** tail\ncr=***!\nab\ncd\nlast\n');
  });

  it('runs no rollback when the op’s directory cannot be entered any more: its log says so, exit 1', async () => {
    const opDir = mkdtempSync(join(tmpdir(), 'nixfleet-op-gone-'));
    // A relative path, so that where the rollback ran shows: in `/` it would act there.
    const marker = `${basename(opDir)}-rolled-back`;
    try {
      await execa('/bin/sh', ['-c', armScript('r1-c10-g', timer(1000, `touch ${marker}`, of('web1', 'g')))], {
        env: withPath({}),
        cwd: opDir,
      });
      renameSync(opDir, `${opDir}.old`);
      const dir = join(home, '.nixfleet/armed/r1-c10-g');
      await waitForFile(join(dir, 'exit'));
      expect(readFileSync(join(dir, 'log'), 'utf8')).toBe(`${CANNOT_ENTER} ${opDir}\n`);
      expect(readFileSync(join(dir, 'exit'), 'utf8')).toBe('1\n');
      expect(existsSync(join('/', marker))).toBe(false);
      expect(existsSync(join(`${opDir}.old`, marker))).toBe(false);
    } finally {
      rmSync(join('/', marker), { force: true });
      rmSync(`${opDir}.old`, { recursive: true, force: true });
    }
  });

  it('redacts the variables `env:` secrets are read from, which a local timer inherits, and nothing else', async () => {
    const env = withPath({
      API_TOKEN: 'api-token-value',
      DB_PASSWORD: 'db-password-value',
      NOT_A_SECRET: 'plain-value-123',
    });
    const rollback = 'echo "$API_TOKEN $DB_PASSWORD $NOT_A_SECRET"';
    const spec = timer(1000, rollback, of('web1', 'switch'), ['API_TOKEN', 'DB_PASSWORD', 'UNSET_ONE']);
    expect(await firedLog('r1-c6-e', spec, env)).toBe('*** *** plain-value-123\n');
  });

  it('gives the rollback NIXFLEET_ROLLBACK_OF, the op command it undoes, and waits outside the op’s directory', async () => {
    const opDir = mkdtempSync(join(tmpdir(), 'nixfleet-op-cwd-'));
    const env = withPath({ NIXFLEET_COMMAND_ID: 'c7' });
    const rollback = 'echo "of=$NIXFLEET_ROLLBACK_OF in $(pwd)"';
    await execa('/bin/sh', ['-c', armScript('r1-c7-w', timer(2000, rollback, of('web1', 'switch')))], {
      env,
      cwd: opDir,
    });
    // While it waits, neither the timer's shell nor its sleep is in the op's directory: a mount
    // there would stay busy for the whole delay.
    const timerProcesses = () =>
      readdirSync('/proc')
        .filter((pid) => /^[0-9]+$/.test(pid))
        .filter((pid) => {
          try {
            const parent = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ')[1] ?? '';
            return [pid, parent].some((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('r1-c7-w'));
          } catch {
            return false;
          }
        });
    // The timer's shell, and its sleep once it started it (after any `cd`).
    const isSleep = (pid: string) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep');
    let waiting = timerProcesses();
    for (let i = 0; i < 100 && !waiting.some(isSleep); i++) {
      await sleep(20);
      waiting = timerProcesses();
    }
    expect(waiting.length).toBeGreaterThanOrEqual(2);
    for (const pid of waiting) expect(readlinkSync(`/proc/${pid}/cwd`)).toBe('/');
    const dir = join(home, '.nixfleet/armed/r1-c7-w');
    await waitForFile(join(dir, 'exit'));
    // It runs the rollback in the op's directory, as nixfleet would.
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe(`of=c7 in ${opDir}\n`);
    rmSync(opDir, { recursive: true, force: true });
  });

  it('on a host without awk, drops the output with a line that says so, and the rollback still runs to its end', async () => {
    // Only what the scripts need, awk left out.
    const bin = mkdtempSync(join(tmpdir(), 'nixfleet-no-awk-'));
    for (const tool of ['sleep', 'mv', 'cat', 'rm', 'mkdir', 'nohup', 'setsid', 'touch']) {
      symlinkSync(execFileSync('/bin/sh', ['-c', `command -v ${tool}`], { encoding: 'utf8' }).trim(), join(bin, tool));
    }
    const env = { HOME: home, PATH: bin, NIXFLEET_SECRET_TOKEN: 'hunter2-secret' };
    const rollback =
      'i=0; while [ $i -lt 2000 ]; do echo "$NIXFLEET_SECRET_TOKEN $i"; i=$((i+1)); done; touch no-awk-done';
    await execa('/bin/sh', ['-c', armScript('r1-c5-n', timer(1000, rollback, of('web1', 'switch')))], {
      env,
      cwd: home,
    });
    const dir = join(home, '.nixfleet/armed/r1-c5-n');
    await waitForFile(join(dir, 'exit'));
    expect(readFileSync(join(dir, 'exit'), 'utf8')).toBe('0\n');
    expect(existsSync(join(home, 'no-awk-done'))).toBe(true);
    expect(readFileSync(join(dir, 'log'), 'utf8')).toBe(
      "[nixfleet] no awk on this host: the rollback's output is not kept\n",
    );
    rmSync(bin, { recursive: true, force: true });
  });

  it('the reply is found after anything a login shell printed first', () => {
    expect(parseTimerReply('Welcome!\nnixfleet-armed:done 0\nline\n')).toEqual({
      kind: 'done',
      exitCode: 0,
      log: 'line\n',
    });
    expect(parseTimerReply('no marker here\n')).toBeUndefined();
  });
});
