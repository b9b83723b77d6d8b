// The ssh transport against a real sshd on 127.0.0.1 (see CORE-007). The "remote" side is this
// machine, so remote processes are checked with kill(pid, 0) after reading the pids they wrote.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawnerPids } from '../../src/engine/transports/spawner/spawner-client.js';
import { askMasterPid, askMasterToExit } from '../../src/engine/transports/ssh/mux-control.js';
import { createSshTransport } from '../../src/engine/transports/ssh.js';
import type { ExecOptions, ExecResult, Transport } from '../../src/engine/types.js';
import type { Host, Settings } from '../../src/registry/types.js';
import { waitForLine } from '../engine/support/wait-for.js';
import { makeTempDir } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { sshHost, sshSettings } from './ssh-host.js';

// Real connections: a loaded machine (CI, parallel suites) can take seconds per login.
vi.setConfig({ testTimeout: 90_000 });

let sshd: TestSshd;
let work: string;
const open: Transport[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  work = makeTempDir({}, 'nixfleet-ssh-work-');
});
afterAll(async () => {
  await Promise.all(open.map((t) => t.close()));
  await sshd?.stop();
});

function transport(host: Partial<Host> = {}, settings: Settings = sshSettings(), configFile = sshd.clientConfig) {
  const t = createSshTransport(sshHost(sshd, host), settings, { controlDir: join(work, 'control'), configFile });
  open.push(t);
  return t;
}

async function run(t: Transport, command: string, options: Partial<ExecOptions> = {}) {
  let output = '';
  const result: ExecResult = await t.exec(command, {
    env: {},
    timeoutMs: 60_000,
    onOutput: (chunk) => {
      output += chunk;
    },
    ...options,
  });
  return { ...result, output };
}

describe('output and exit codes', () => {
  it('streams stdout and stderr and returns the remote exit code', async () => {
    const t = transport();
    const ok = await run(t, 'echo out; echo err >&2');
    expect(ok).toMatchObject({ exitCode: 0, timedOut: false, aborted: false });
    expect(ok.transportError).toBeUndefined();
    expect(ok.output).toContain('out\n');
    expect(ok.output).toContain('err\n');
    expect(ok.output).not.toContain('nixfleet-start-');

    const failed = await run(t, 'echo before; exit 7');
    expect(failed.exitCode).toBe(7);
    expect(failed.transportError).toBeUndefined();
    expect(failed.output).toBe('before\n');
  });

  it('keeps stdout and stderr apart, each as the bytes written', async () => {
    const chunks: { text: string; stream: string | undefined }[] = [];
    const result = await transport().exec("printf 'o1\\n'; printf 'e\\377\\n' >&2; printf 'o2\\n'", {
      env: {},
      timeoutMs: 60_000,
      onOutput: (chunk, stream) => chunks.push({ text: Buffer.from(chunk).toString('latin1'), stream }),
    });
    expect(result.exitCode).toBe(0);
    const of = (stream: string) =>
      chunks
        .filter((chunk) => chunk.stream === stream)
        .map((chunk) => chunk.text)
        .join('');
    expect(of('stdout')).toBe('o1\no2\n');
    expect(of('stderr')).toBe('e\xff\n');
  });

  it("the ssh client is started by nixfleet's spawner, not forked from nixfleet (CORE-007)", async () => {
    let group: number | undefined;
    let parent: number | undefined;
    const result = await transport().exec('true', {
      env: {},
      timeoutMs: 60_000,
      onProcess: (process) => {
        group ??= process.group;
        const stat = readFileSync(`/proc/${process.group}/stat`, 'utf8');
        parent ??= Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      },
    });
    expect(result.exitCode).toBe(0);
    expect(group).toBeGreaterThan(0);
    expect(parent).not.toBe(process.pid);
    expect(spawnerPids()).toContain(parent);
  });

  it('a command exiting 255 is the command failing, not ssh', async () => {
    const result = await run(transport(), 'echo partial >&2; exit 255');
    expect(result.exitCode).toBe(255);
    expect(result.transportError).toBeUndefined();
    expect(result.output).toBe('partial\n');
  });
});

describe('a connection lost under a running command', () => {
  it.each([true, false])('is reported as lost, not as exit 255 (multiplex: %s)', async (multiplex) => {
    // Killing the command's sshd process (the parent of the login shell that started this one)
    // drops the connection while the command runs.
    const result = await run(
      transport({}, sshSettings({ multiplex })),
      'echo started; sleep 1; kill -9 $(ps -o ppid= -p $PPID); sleep 5',
    );
    expect(result.output).toContain('started\n');
    expect(result.exitCode).toBeNull();
    expect(result.transportError).toBe(`ssh: connection to 127.0.0.1:${sshd.port} was lost while the command ran`);
  });
});

describe('a master killed with SIGKILL, its socket file left behind', () => {
  /** A transport with its own control directory, its master up, and that master's socket and pid. */
  async function withMaster(name: string) {
    const controlDir = join(work, name);
    const t = createSshTransport(sshHost(sshd), sshSettings(), { controlDir, configFile: sshd.clientConfig });
    open.push(t);
    expect((await run(t, 'true')).exitCode).toBe(0);
    const socket = join(controlDir, readdirSync(controlDir)[0]!, 'm');
    const pid = await askMasterPid(socket);
    expect(pid).toBeGreaterThan(0);
    return { t, socket, pid: pid! };
  }

  it('under a running command: the connection was lost, not the command’s exit 255', async () => {
    const { t, socket, pid } = await withMaster('mux-killed-under');
    const started = join(work, 'killed-under.started');
    const pending = run(t, `echo started > ${started}; sleep 30`);
    await waitForLine(started);
    process.kill(pid, 'SIGKILL');
    const result = await pending;
    // The file stays: only a master that exits on its own removes it.
    expect(statSync(socket, { throwIfNoEntry: false })?.isSocket() ?? false).toBe(true);
    expect(result.exitCode).toBeNull();
    expect(result.transportError).toBe(`ssh: connection to 127.0.0.1:${sshd.port} was lost while the command ran`);
  });

  it('between commands: the next one opens a new master, and no ssh notice gets into its output', async () => {
    const { t, socket, pid } = await withMaster('mux-killed-between');
    process.kill(pid, 'SIGKILL');
    await vi.waitFor(() => expect(isRunning(pid)).toBe(false), { timeout: 10_000, interval: 20 });
    const before = sshd.acceptedLogins();
    const results = [await run(t, 'echo one'), await run(t, 'echo two')];
    expect(results.map((r) => [r.exitCode, r.output])).toEqual([
      [0, 'one\n'],
      [0, 'two\n'],
    ]);
    // One login, the new master's, for both commands.
    expect(sshd.acceptedLogins() - before).toBe(1);
    const again = await askMasterPid(socket);
    expect(again).toBeGreaterThan(0);
    expect(again).not.toBe(pid);
  });
});

describe('a command that leaves a job in the background (`cmd &`)', () => {
  it.each([true, false])(
    'ends when its shell does, with its exit status, and the job keeps running (multiplex: %s)',
    async (multiplex) => {
      // The job holds the session's output: sshd would keep the session open for its 600 s.
      const result = await run(
        transport({}, sshSettings({ multiplex })),
        'sleep 600 & echo "job $!"; echo partial >&2; printf "no newline" >&2; exit 3',
        { timeoutMs: 60_000 },
      );
      expect(result.timedOut).toBe(false);
      expect(result.exitCode, result.output).toBe(3);
      expect(result.output).toContain('partial\nno newline');
      expect(result.output).not.toContain(' end 3');
      const job = Number(/job (\d+)/.exec(result.output)?.[1]);
      expect(isRunning(job)).toBe(true);
      process.kill(job, 'SIGKILL');
    },
  );
});

describe('env and quoting', () => {
  it('env values with spaces, quotes, $, ;, backticks and newlines arrive literally', async () => {
    const marker = join(work, 'injected');
    const env = {
      NIXFLEET_HOST: 'web1',
      SPACES: 'a  b   c',
      QUOTES: `it's "quoted"`,
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal ${...} the remote shell must not expand
      DOLLAR: '$HOME ${PATH} $(id -u)',
      SEMI: `x; touch ${marker}`,
      TICKS: `\`touch ${marker}\``,
      LINES: 'one\ntwo',
    };
    const names = Object.keys(env);
    const command = names.map((name) => `printf '%s=[%s]\\n' ${name} "$${name}"`).join('; ');
    const result = await run(transport(), command, { env });
    expect(result.exitCode).toBe(0);
    for (const [name, value] of Object.entries(env)) expect(result.output).toContain(`${name}=[${value}]\n`);
    expect(existsSync(marker)).toBe(false);
  });

  it('names the login shell manages itself (RANDOM, SECONDS, UID) reach the command as given', async () => {
    // The login shell of the test account is bash: exported, RANDOM would arrive as a fresh
    // random number and UID not at all (read-only), so these must go through `env`.
    const env = { RANDOM: '4242', SECONDS: '77', UID: 'not-a-uid', PLAIN: 'p' };
    const command = Object.keys(env)
      .map((name) => `printf '%s=[%s]\\n' ${name} "$${name}"`)
      .join('; ');
    const result = await run(transport(), command, { env, cwd: work });
    expect(result.exitCode).toBe(0);
    for (const [name, value] of Object.entries(env)) expect(result.output).toContain(`${name}=[${value}]\n`);
  });

  it("the op's HOME does not move the cwd: `cd ~/...` uses the login user's home", async () => {
    const home = userInfo().homedir;
    const result = await run(transport(), 'pwd; printf "%s\\n" "$HOME"', { env: { HOME: work }, cwd: '~' });
    expect(result.exitCode).toBe(0);
    expect(result.output).toBe(`${home}\n${work}\n`);
  });

  it('the command line itself reaches the remote shell unchanged', async () => {
    const result = await run(transport(), `printf '%s|' "a b" 'c"d' "e'f" '$g' ; echo`);
    expect(result.output).toBe(`a b|c"d|e'f|$g|\n`);
  });
});

describe('cwd', () => {
  it('runs in cwd on the remote side, even with spaces in the path', async () => {
    const dir = join(work, 'a dir; with $pace');
    mkdirSync(dir, { recursive: true });
    const result = await run(transport(), 'pwd', { cwd: dir });
    expect(result).toMatchObject({ exitCode: 0 });
    expect(result.output).toBe(`${dir}\n`);
  });

  it('a missing cwd fails the command without running it', async () => {
    const marker = join(work, 'ran-anyway');
    const result = await run(transport(), `touch ${marker}`, { cwd: join(work, 'missing') });
    expect(result.exitCode).not.toBe(0);
    expect(result.transportError).toBeUndefined();
    expect(existsSync(marker)).toBe(false);
  });
});

describe('timeout and cancel reach the remote process', () => {
  it('a timeout terminates the remote command and its children (verified by pid)', async () => {
    const pids = join(work, 'timeout.pids');
    const t = transport();
    await run(t, 'true');
    const started = Date.now();
    const result = await run(t, `sleep 60 & echo "$$ $!" > ${pids}; wait`, { timeoutMs: 2_500 });
    expect(result).toMatchObject({ exitCode: null, timedOut: true, aborted: false, signal: 'SIGTERM' });
    expect(Date.now() - started).toBeLessThan(8_000);
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    expect(isRunning(shell!)).toBe(false);
    expect(isRunning(child!)).toBe(false);
  });

  it('a spawner that stops answering while ssh runs does not hold the command past its timeout', async () => {
    const pids = join(work, 'stopped-spawner.pids');
    const t = transport();
    await run(t, 'true');
    let stopped: number[] = [];
    const running = run(t, `sleep 60 & echo "$$ $!" > ${pids}; wait`, { timeoutMs: 2_500 });
    await waitForLine(pids);
    // The ssh client's exit can no longer be told: every spawner is stopped (SIGSTOP).
    stopped = spawnerPids();
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    try {
      // Without the bound it waited for ever; given up on here, so that the spawners resume.
      const result = await Promise.race([running, new Promise((resolve) => setTimeout(resolve, 60_000, 'waiting'))]);
      expect(result).toMatchObject({ exitCode: null, timedOut: true, aborted: false });
    } finally {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
    }
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    expect(isRunning(shell!)).toBe(false);
    expect(isRunning(child!)).toBe(false);
  });

  it('a command that ignores SIGTERM is killed after the grace period', async () => {
    const pids = join(work, 'stubborn.pids');
    // The master is opened first so that the timeout is spent running the command, even on a busy machine.
    const t = transport();
    await run(t, 'true');
    const command = `trap '' TERM; sleep 60 & echo "$$ $!" > ${pids}; wait; wait`;
    // The timeout counts from the start of ssh: on a machine busy enough, SIGTERM can come before the
    // remote shell has run its `trap`, and then it rightly ends the command. Such a run did not test
    // the grace period (it left no pid file), so it is run again with a longer timeout.
    let result: ExecResult | undefined;
    for (const timeoutMs of [3_000, 6_000, 12_000]) {
      rmSync(pids, { force: true });
      result = await run(t, command, { timeoutMs });
      if (existsSync(pids)) break;
    }
    expect(existsSync(pids), 'the command never set its trap before its timeout').toBe(true);
    expect(result).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    const [shell, child] = readFileSync(pids, 'utf8').trim().split(' ').map(Number);
    expect(isRunning(shell!)).toBe(false);
    expect(isRunning(child!)).toBe(false);
  });

  it('a member that exited but is never reaped (no init to reap it) counts as gone: SIGTERM ended the group', async () => {
    const pids = join(work, 'zombie.pids');
    const t = transport();
    await run(t, 'true');
    // perl forks a `sleep` that stays in the command's group, then moves itself into a group of its
    // own (and, without the tag, out of the reaper's reach), and never waits for its child: once
    // SIGTERM ends the group, the `sleep` stays a zombie in it for as long as perl lives.
    const parent = join(work, 'never-reaps.pl');
    writeFileSync(
      parent,
      `my $c = fork(); if ($c == 0) { exec 'sleep', '60' } setpgrp(0, 0);
open(my $f, '>', '${pids}'); print $f "$$ $c\\n"; close $f; sleep 60;
`,
    );
    const command = `env -u NIXFLEET_PROCESS_TAG perl ${parent} </dev/null >/dev/null 2>&1 & echo "$$" > ${pids}.shell; wait`;
    const result = await run(t, command, { timeoutMs: 3_000 });
    // Whole, with its newline: perl's buffered print makes an empty file first.
    const [perl, zombie] = (await waitForLine(pids)).trim().split(' ').map(Number);
    try {
      const stat = readFileSync(`/proc/${zombie}/stat`, 'utf8');
      expect(stat.slice(stat.lastIndexOf(')') + 2)[0]).toBe('Z');
      expect(isRunning(Number(readFileSync(`${pids}.shell`, 'utf8')))).toBe(false);
      // Before, `kill -0` counted the zombie as alive: the reaper waited out the grace period and
      // sent SIGKILL to a group in which nothing ran any more.
      expect(result).toMatchObject({ exitCode: null, timedOut: true, signal: 'SIGTERM' });
    } finally {
      process.kill(perl!, 'SIGKILL');
    }
  });

  it('aborting (cancel --kill) kills the remote command at once', async () => {
    const pids = join(work, 'abort.pids');
    const controller = new AbortController();
    const pending = run(transport(), `sleep 60 & echo "$$ $!" > ${pids}; wait`, { signal: controller.signal });
    const [shell, child] = (await waitForLine(pids)).trim().split(' ').map(Number);
    expect(isRunning(shell!)).toBe(true);
    controller.abort();
    const result = await pending;
    expect(result).toMatchObject({ exitCode: null, aborted: true, timedOut: false, signal: 'SIGKILL' });
    expect(isRunning(shell!)).toBe(false);
    expect(isRunning(child!)).toBe(false);
  });
});

describe('multiplexing', () => {
  it('every command of one transport shares one connection, closed by close()', async () => {
    const controlDir = join(work, 'mux');
    const t = createSshTransport(sshHost(sshd), sshSettings(), { controlDir, configFile: sshd.clientConfig });
    const before = sshd.acceptedLogins();
    for (let i = 0; i < 3; i++) expect((await run(t, `echo ${i}`)).exitCode).toBe(0);
    expect(sshd.acceptedLogins() - before).toBe(1);

    const [directory] = readdirSync(controlDir);
    const socketDir = join(controlDir, directory!);
    expect(statSync(socketDir).mode & 0o777).toBe(0o700);
    expect(statSync(join(socketDir, 'm')).isSocket()).toBe(true);
    // The pid the lifeline holds comes from the master itself, over its socket (mux-control.ts).
    const pid = await askMasterPid(join(socketDir, 'm'));
    expect(pid).toBeGreaterThan(0);
    expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8')).toContain(join(socketDir, 'm'));

    await t.close();
    expect(existsSync(socketDir)).toBe(false);
    await vi.waitFor(() => expect(isRunning(pid!)).toBe(false), { timeout: 10_000, interval: 50 });
    await t.close();
  });

  it('asking a socket that is no master gets no answer, not a hang', async () => {
    const dir = makeTempDir({}, 'nixfleet-mux-');
    expect(await askMasterPid(join(dir, 'absent'))).toBeUndefined();
    const server = createServer((socket) => socket.end('not the mux protocol'));
    await new Promise<void>((resolve) => server.listen(join(dir, 's'), resolve));
    try {
      expect(await askMasterPid(join(dir, 's'))).toBeUndefined();
      expect(await askMasterToExit(join(dir, 's'))).toBe(false);
    } finally {
      server.close();
    }
  });

  it('with multiplex off, each command opens its own connection', async () => {
    const t = transport({}, sshSettings({ multiplex: false }));
    const before = sshd.acceptedLogins();
    for (let i = 0; i < 2; i++) expect((await run(t, 'true')).exitCode).toBe(0);
    expect(sshd.acceptedLogins() - before).toBe(2);
  });
});

// execa throws at once for a NUL byte in ssh's arguments (the env and command travel in them):
// the session must return a transport error, not throw or wait for an event that never comes.
describe('commands that cannot be started', () => {
  it.each([
    ['a NUL byte in the environment', { env: { VALUE: 'a\0b' } }, 'true', /NUL byte/],
    ['a NUL byte in the command', { env: {} }, 'echo a\0b', /NUL byte/],
    ['an environment over the kernel limit', { env: { VALUE: 'x'.repeat(300_000) } }, 'true', /too large \(E2BIG\)/],
  ])('%s is a transport error', async (_, options, command, reason) => {
    const result = await run(transport(), command, options);
    expect(result).toMatchObject({ exitCode: null, timedOut: false, aborted: false });
    expect(result.transportError).toMatch(/^ssh: cannot start ssh: /);
    expect(result.transportError).toMatch(reason);
  });

  it('the multiplexing master that cannot be started is a transport error too', async () => {
    const result = await run(transport({ address: '127.0.0.1\0' }), 'true');
    expect(result).toMatchObject({ exitCode: null, timedOut: false, aborted: false });
    expect(result.transportError).toBe('ssh: cannot start ssh: the command or its environment contains a NUL byte');
  });
});
