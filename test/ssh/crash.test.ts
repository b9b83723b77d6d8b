// A nixfleet killed with SIGKILL during an ssh run (see CORE-011): the remote commands, the local
// ssh clients and the multiplexing master all end within seconds, and the next run on those
// hosts never overlaps a command that is still running. Real sshd on loopback.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { OWNER_FILE } from '../../src/engine/transports/ssh/control-socket.js';
import { askMasterPid } from '../../src/engine/transports/ssh/mux-control.js';
import { currentOwner } from '../../src/store/owner.js';
import { waitFor, waitForFile, waitForPid, waitForPids } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { type ForkingDaemon, forkingDaemon, killForkingDaemon, survivors } from '../support/forking-daemon.js';
import {
  childrenMatching,
  describeProcesses,
  isRunning,
  killWithLifeline,
  processesMatching,
} from '../support/processes.js';
import { pathWithSshWrapper } from '../support/ssh-wrapper.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

vi.setConfig({ testTimeout: 240_000 });

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

function fleet(workdir: string, multiplex: boolean): string {
  const host = JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user });
  const file = (name: string) => JSON.stringify(join(workdir, name));
  return `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 10s, multiplex: ${multiplex} }
hosts: { h1: ${host}, h2: ${host} }
ops:
  hang:
    run: echo $$ > ${file('shell-')}$NIXFLEET_HOST; sleep 600 & echo $! > ${file('child-')}$NIXFLEET_HOST; wait
  daemon:
    run: setsid sh -c 'echo $$ > ${file('daemon-pid')}; exec sleep 600' </dev/null >/dev/null 2>&1 & sleep 600
  daemon-timeout:
    run: setsid sh -c 'trap "" TERM; echo $$ > ${file('daemon-pid')}; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 & sleep 600
    timeout: 3s
  ok:
    run: 'true'
  check:
    run: |
      for f in shell-$NIXFLEET_HOST child-$NIXFLEET_HOST; do
        s=$(sed 's/.*) //' /proc/$(cat ${JSON.stringify(workdir)}/$f)/stat 2>/dev/null | cut -d' ' -f1)
        if [ -n "$s" ] && [ "$s" != Z ]; then echo "$f still running"; exit 7; fi
      done
`;
}

describe('kill -9 of nixfleet during an ssh run', () => {
  for (const multiplex of [true, false]) {
    it(`leaves nothing running, remote or local (multiplex: ${multiplex}); the next apply does not overlap`, async () => {
      const dir = makeTempDir();
      const workdir = join(dir, 'remote');
      mkdirSync(workdir);
      writeFileSync(join(dir, 'fleet.yaml'), fleet(workdir, multiplex));
      const env = { NIXFLEET_SSH_CONFIG: sshd.clientConfig };
      const apply = spawnCli(dir, ['apply', 'hang'], { env, timeoutMs: 240_000 });
      const files = ['shell-h1', 'child-h1', 'shell-h2', 'child-h2'].map((f) => join(workdir, f));
      const pids = await waitForPids(files);
      // Every ssh process of this run names the data directory (its control socket or its key).
      const sshMarker = multiplex ? join(dir, '.nixfleet', 'ssh') : sshd.clientKey;
      expect(processesMatching(sshMarker).length).toBeGreaterThan(0);

      apply.kill('SIGKILL');
      await apply;
      await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the remote commands to end', 30_000);
      await waitFor(() => processesMatching(sshMarker).length === 0, 'the ssh clients and master', 30_000).catch(
        (error: Error) => {
          throw new Error(`${error.message}; still running: ${describeProcesses(processesMatching(sshMarker))}`);
        },
      );

      const next = await runCli(dir, ['apply', 'check'], { env });
      expect(next.exitCode, next.stdout + next.stderr).toBe(0);
      // The killed run's control directories went too (CORE-007, "Data"), and the next run's own.
      const controlDir = join(dir, '.nixfleet', 'ssh');
      expect(existsSync(controlDir) ? readdirSync(controlDir) : []).toEqual([]);
      const runs = JSON.parse((await runCli(dir, ['runs', '--json'], { env })).stdout) as { status: string }[];
      expect(runs.map((r) => r.status)).toEqual(['COMPLETE', 'ORPHANED']);
    });
  }
});

describe('kill -9 of nixfleet while a master logs in', () => {
  it('does not leave that master running once it is up', async () => {
    const dir = makeTempDir();
    const workdir = join(dir, 'remote');
    mkdirSync(workdir);
    writeFileSync(join(dir, 'fleet.yaml'), fleet(workdir, true));
    // A login that takes a few seconds: as the master, the wrapper writes its pid and waits
    // before it becomes the real ssh. nixfleet is killed during that wait.
    const PATH = pathWithSshWrapper(
      dir,
      `case " $* " in *" -N "*) echo $$ > ${JSON.stringify(join(dir, 'master-pid'))}; sleep 3 ;; esac`,
    );
    const env = { NIXFLEET_SSH_CONFIG: sshd.clientConfig, PATH };
    const apply = spawnCli(dir, ['apply', 'hang', '--on', 'h1'], { env, timeoutMs: 240_000 });
    const pidFile = join(dir, 'master-pid');
    // Whole, with its newline: the file exists, empty, a moment before the pid is in it.
    await waitFor(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').endsWith('\n'), pidFile, 30_000);
    const login = Number(readFileSync(pidFile, 'utf8'));
    apply.kill('SIGKILL');
    await apply;
    // Had it lived, this pid would have logged in and left its master in the background.
    await waitFor(() => !isRunning(login), 'the master’s login to end', 30_000);
    const masters = processesMatching(join(dir, '.nixfleet', 'ssh'));
    expect(masters, describeProcesses(masters)).toEqual([]);
  });
});

describe('a daemon an ssh op moved out of its process group (setsid)', () => {
  const setup = () => {
    const dir = makeTempDir();
    const workdir = join(dir, 'remote');
    mkdirSync(workdir);
    writeFileSync(join(dir, 'fleet.yaml'), fleet(workdir, true));
    return { dir, daemonFile: join(workdir, 'daemon-pid'), env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig } };
  };

  it('is killed on the host by the remote lifeline when nixfleet is killed with SIGKILL', async () => {
    const { dir, daemonFile, env } = setup();
    const apply = spawnCli(dir, ['apply', 'daemon', '--on', 'h1'], { env, timeoutMs: 240_000 });
    const daemon = await waitForPid(daemonFile);
    expect(isRunning(daemon)).toBe(true);
    apply.kill('SIGKILL');
    await apply;
    await waitFor(() => !isRunning(daemon), 'the remote setsid daemon to end', 30_000);
  });

  it('is killed with its command on timeout by the remote reaper, even when it ignores SIGTERM', async () => {
    const { dir, daemonFile, env } = setup();
    const result = await runCli(dir, ['apply', 'daemon-timeout', '--on', 'h1', '--json'], { env, timeoutMs: 120_000 });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout).hosts.h1[0].status).toBe('TIMEOUT');
    expect(isRunning(Number(readFileSync(daemonFile, 'utf8')))).toBe(false);
  });
});

// CORE-011, "Processes that leave the group": the remote lifeline and the reaper kill by tag pass
// after pass until two passes in a row find nothing; a child that forks without pause while one
// pass runs is found by the next.
describe('a setsid child of an ssh op that forks without pause and ignores SIGTERM', () => {
  const setup = (id: string, timeout: string) => {
    const dir = makeTempDir();
    const workdir = join(dir, 'remote');
    mkdirSync(workdir);
    const host = JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user });
    const settings = `{ ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 10s } }`;
    const daemon = forkingDaemon(id, timeout, { workdir, host, settings });
    writeFileSync(join(dir, 'fleet.yaml'), daemon.fleet);
    daemons.push(daemon);
    return { dir, daemon, env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig } };
  };
  const daemons: ForkingDaemon[] = [];
  afterEach(() => {
    for (const daemon of daemons.splice(0)) killForkingDaemon(daemon);
  });

  it('is killed on the host by the remote lifeline when nixfleet is killed with SIGKILL', async () => {
    const { dir, daemon, env } = setup('7206', '5m');
    const apply = spawnCli(dir, ['apply', 'spawny'], { env, timeoutMs: 240_000 });
    await waitForFile(join(daemon.workdir!, 'started'));
    await waitFor(() => processesMatching(daemon.marker).length > 20, 'the loop to fork');
    apply.kill('SIGKILL');
    await apply;
    await waitFor(() => survivors(dir, daemon).length === 0, 'no tagged process alive', 30_000).catch((error) => {
      throw new Error(`${error}: ${describeProcesses(survivors(dir, daemon))}`);
    });
  });

  it('is killed by the reaper on timeout before the command is over', async () => {
    const { dir, daemon, env } = setup('7207', '3s');
    const result = await runCli(dir, ['apply', 'spawny', '--json'], { env, timeoutMs: 120_000 });
    expect(result.exitCode, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout).hosts.h1[0], result.stdout).toMatchObject({ status: 'TIMEOUT' });
    const left = survivors(dir, daemon);
    expect(left, describeProcesses(left)).toEqual([]);
  });
});

describe('control directories a killed nixfleet left behind', () => {
  const setup = () => {
    const dir = makeTempDir();
    const workdir = join(dir, 'remote');
    mkdirSync(workdir);
    writeFileSync(join(dir, 'fleet.yaml'), fleet(workdir, true));
    return { dir, workdir, controlDir: join(dir, '.nixfleet', 'ssh'), env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig } };
  };
  const controlDirectories = (controlDir: string) =>
    existsSync(controlDir) ? readdirSync(controlDir).map((name) => join(controlDir, name)) : [];

  it('are removed by the next nixfleet, and the master still listening there is closed', async () => {
    const { dir, workdir, controlDir, env } = setup();
    const apply = spawnCli(dir, ['apply', 'hang', '--on', 'h1'], { env, timeoutMs: 240_000 });
    await waitForFile(join(workdir, 'child-h1'));
    const [left] = controlDirectories(controlDir);
    const master = await askMasterPid(join(left!, 'm'));
    expect(master).toBeGreaterThan(0);
    // nixfleet and its lifeline at once (CORE-011, "The lifeline killed with nixfleet"): nothing
    // is left to stop the master, which would otherwise hold its login for five idle minutes.
    expect(childrenMatching(apply.pid!, 'held[$2]')).toHaveLength(1);
    await killWithLifeline(apply);
    try {
      expect(isRunning(master!)).toBe(true);
      const next = await runCli(dir, ['apply', 'check', '--on', 'h1'], { env });
      expect(next.exitCode, next.stdout + next.stderr).toBe(0);
      expect(existsSync(left!)).toBe(false);
      await waitFor(() => !isRunning(master!), 'the left master to exit', 30_000);
      // The next run's own directory went with its close().
      expect(controlDirectories(controlDir)).toEqual([]);
    } finally {
      if (isRunning(master!)) process.kill(master!, 'SIGTERM');
    }
  });

  it('of a nixfleet still running, or without an owner file, are kept; a reused pid does not keep one', async () => {
    const { dir, workdir, controlDir, env } = setup();
    const running = spawnCli(dir, ['apply', 'hang', '--on', 'h1'], { env, timeoutMs: 240_000 });
    try {
      await waitForFile(join(workdir, 'child-h1'));
      const [live] = controlDirectories(controlDir);
      const made = (name: string, owner?: object) => {
        const path = join(controlDir, name);
        mkdirSync(path, { mode: 0o700 });
        if (owner !== undefined) writeFileSync(join(path, OWNER_FILE), JSON.stringify(owner));
        return path;
      };
      // This test's own pid, alive, but with another start time: a later process that got the pid.
      const reused = made('ssh-reUsed', { ...currentOwner(), startedAt: currentOwner().startedAt - 60_000 });
      const unowned = made('ssh-noOwnr');
      const elsewhere = made('ssh-othrHo', { pid: 999_999, hostname: `not-${hostname()}`, startedAt: 1 });

      const other = await runCli(dir, ['apply', 'ok', '--on', 'h2'], { env });
      expect(other.exitCode, other.stdout + other.stderr).toBe(0);
      expect(existsSync(reused)).toBe(false);
      expect(existsSync(unowned)).toBe(true);
      expect(existsSync(elsewhere)).toBe(true);
      // The running apply's master still answers in its directory.
      expect(await askMasterPid(join(live!, 'm'))).toBeGreaterThan(0);
    } finally {
      running.kill('SIGKILL');
      await running;
    }
  });
});
