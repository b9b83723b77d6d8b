// Local commands are started by nixfleet's spawner processes (CORE-001, "The spawner process"):
// processes apart from nixfleet, in their own session, whose loss stops the commands they carried
// and is replaced by the next command. Python's where a python3 with posix_spawn is on PATH (looking
// past a shim), else Perl's where perl is, else Node's.
import { chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isProcessGroupAlive } from '../../src/domain/process-group.js';
import { createLocalTransport } from '../../src/engine/transports/local.js';
import { spawnerKind, spawnerPids } from '../../src/engine/transports/spawner/spawner-client.js';
import { BIN, makeTempDir, runCli } from '../support/cli.js';
import { waitFor, waitForLine } from './support/wait-for.js';

/** Parent pid and session id of a process, from /proc/<pid>/stat (fields 4 and 6). */
function parentAndSession(pid: number): { parent: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { parent: Number(fields[1]), session: Number(fields[3]) };
}

/** A fleet whose one command writes its parent's (the spawner's) command line to `parent`. */
const PARENT_FLEET = `version: 1
hosts:
  a: {}
ops:
  parent:
    run: cat /proc/$PPID/cmdline > parent
pipelines:
  default: { ops: [parent] }
`;

describe.runIf(process.platform === 'linux')('the spawner process', () => {
  it('starts each command in a session of its own, and runs in one of its own, apart from nixfleet', async () => {
    const dir = makeTempDir();
    const transport = createLocalTransport({ shell: '/bin/sh', cwd: dir });
    let output = '';
    const result = await transport.exec('echo $$; cat /proc/$$/stat', {
      env: {},
      timeoutMs: 30_000,
      onOutput: (chunk) => {
        output += chunk;
      },
    });
    expect(result.exitCode, output).toBe(0);
    const [pidLine, statLine] = output.split('\n');
    const fields = (statLine ?? '').slice((statLine ?? '').lastIndexOf(')') + 2).split(' ');
    const [parent, session] = [Number(fields[1]), Number(fields[3])];
    expect(session).toBe(Number(pidLine));
    expect(spawnerPids()).toContain(parent);
    expect(parent).not.toBe(process.pid);
    const ours = parentAndSession(process.pid).session;
    expect(parentAndSession(parent)).toEqual({ parent: process.pid, session: parent });
    expect(ours).not.toBe(parent);
    const scripts = join(import.meta.dirname, '../../src/engine/transports/spawner');
    const expected = {
      Python: [expect.stringMatching(/\/python3[.\d]*$/), '-I', '-S', join(scripts, 'spawner.py'), ''],
      Perl: [expect.stringMatching(/\/perl$/), join(scripts, 'spawner.pl'), ''],
      Node: [process.execPath, expect.stringMatching(/spawner-process\.js$/), ''],
    }[spawnerKind()];
    expect(readFileSync(`/proc/${parent}/cmdline`, 'utf8').split('\0')).toEqual(expected);
  });

  it('where there is no perl on PATH, apply runs its commands through the Node spawner alike', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts:
  a: {}
  b: {}
ops:
  parent:
    run: cat /proc/$PPID/cmdline > parent-of-{{ host.name }}; echo "out $NIXFLEET_HOST"; echo err >&2; exit 3
pipelines:
  default: { ops: [parent] }
`,
    });
    // Only what the run needs: node for the CLI, sh and cat for the commands.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const links: [string, string][] = [
      ['node', process.execPath],
      ['sh', '/bin/sh'],
      ['cat', '/bin/cat'],
    ];
    for (const [name, target] of links) symlinkSync(target, join(bin, name));
    const result = await runCli(dir, ['apply', 'default', '--json'], { env: { PATH: bin } });
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as { hosts: Record<string, { status: string; error: string | null }[]> };
    expect(report.hosts.a).toEqual([expect.objectContaining({ status: 'ERROR', error: 'exit code 3' })]);
    for (const host of ['a', 'b']) {
      const parent = readFileSync(join(dir, `parent-of-${host}`), 'utf8').split('\0');
      expect(parent).toEqual([process.execPath, expect.stringMatching(/spawner-process\.js$/), '']);
    }
    const logs = await runCli(dir, ['logs', 'r1', '--host', 'b'], { env: { PATH: bin } });
    expect(logs.stdout).toContain('out b\nerr');
  });

  it('passes over a python3 whose real name does not say 3.8 or newer (a shim script, a 3.7): Perl starts the commands', async () => {
    for (const [real, body] of [
      ['python3', '#!/bin/sh\nexec /usr/bin/python3 "$@"\n'],
      ['python3.7', '#!/bin/sh\nexec /usr/bin/python3 "$@"\n'],
    ] as const) {
      const dir = makeTempDir({
        'fleet.yaml': PARENT_FLEET,
        [`versions/${real}`]: body,
      });
      chmodSync(join(dir, 'versions', real), 0o755);
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const name of ['node', 'sh', 'cat', 'perl']) {
        symlinkSync(name === 'node' ? process.execPath : `/usr/bin/${name}`, join(bin, name));
      }
      symlinkSync(join(dir, 'versions', real), join(bin, 'python3'));
      const result = await runCli(dir, ['apply', 'default'], { env: { PATH: bin } });
      expect(result.exitCode, result.stderr).toBe(0);
      expect(readFileSync(join(dir, 'parent'), 'utf8').split('\0')[0], real).toMatch(/\/perl$/);
    }
  });

  it('looks past a shim for a python3 later on PATH: Python starts the commands', async () => {
    const real = realpathSync('/usr/bin/python3');
    const dir = makeTempDir({
      'fleet.yaml': PARENT_FLEET,
      // pyenv's shim, first on PATH, as in root's PATH on these machines.
      'shims/python3': '#!/bin/sh\nexec /usr/bin/python3 "$@"\n',
    });
    chmodSync(join(dir, 'shims', 'python3'), 0o755);
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const name of ['node', 'sh', 'cat', 'perl']) {
      symlinkSync(name === 'node' ? process.execPath : `/usr/bin/${name}`, join(bin, name));
    }
    symlinkSync(real, join(bin, 'python3'));
    const result = await runCli(dir, ['apply', 'default'], { env: { PATH: `${join(dir, 'shims')}:${bin}` } });
    expect(result.exitCode, result.stderr).toBe(0);
    expect(readFileSync(join(dir, 'parent'), 'utf8').split('\0')[0]).toBe(real);
  });

  // Each spawner, chosen by what is on PATH: Python's where python3 is, Perl's where only perl
  // is, Node's where neither is.
  it.each([
    ['Python', ['python3', 'perl'], 'python3\\.\\d+'],
    ['Perl', ['perl'], 'perl'],
    ['Node', [], 'node'],
  ])(
    'the %s spawner: no signal ignored or blocked, no variables of another op',
    { timeout: 90_000 },
    async (name, extra, spawner) => {
      const dir = makeTempDir({
        'fleet.yaml': `version: 1
hosts:
  a: {}
  b: {}
  c: {}
  d: {}
ops:
  first:
    run: 'echo "$FIRST_OF" > first-{{ host.name }}'
    env: { FIRST_OF: "{{ host.name }}" }
  second:
    run: 'echo "\${FIRST_OF-unset}" > second-{{ host.name }}; cat /proc/$PPID/cmdline > parent-{{ host.name }}; exec cat /proc/self/status > status-{{ host.name }}'
pipelines:
  default: { ops: [first, second] }
`,
      });
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const name of ['node', 'sh', 'cat', ...extra]) {
        symlinkSync(name === 'node' ? process.execPath : `/usr/bin/${name}`, join(bin, name));
      }
      // nixfleet itself started with SIGINT, SIGHUP and SIGQUIT ignored, as `nohup` or a
      // non-interactive shell's background job would start it.
      const result = await execa('sh', ['-c', `trap '' INT HUP QUIT; exec node ${BIN} apply default --json`], {
        cwd: dir,
        reject: false,
        env: { CI: 'true', PATH: bin },
        extendEnv: false,
        timeout: 60_000,
      });
      expect(result.exitCode, String(result.stderr)).toBe(0);
      for (const host of ['a', 'b', 'c', 'd']) {
        expect(readFileSync(join(dir, `first-${host}`), 'utf8')).toBe(`${host}\n`);
        expect(readFileSync(join(dir, `second-${host}`), 'utf8')).toBe('unset\n');
        // The command's own process, as the shell left it: exec'd, not forked (a shell blocks every
        // signal while it forks).
        const status = readFileSync(join(dir, `status-${host}`), 'utf8');
        // Python's spawner starts commands with glibc's posix_spawn, which leaves glibc's own two
        // signals (32 and 33, below SIGRTMIN, which no program can use) ignored (CORE-001).
        expect(status).toMatch(name === 'Python' ? /^SigIgn:\s+0+180000000$/m : /^SigIgn:\s+0+$/m);
        expect(status).toMatch(/^SigBlk:\s+0+$/m);
        // The shell's parent is the spawner this PATH chooses.
        const parent = readFileSync(join(dir, `parent-${host}`), 'utf8').split('\0')[0];
        expect(parent).toMatch(new RegExp(`/${spawner}$`));
      }
    },
  );

  it('a spawner that dies stops the commands it carried with a transport error; the next command starts a new one', async () => {
    const dir = makeTempDir();
    const transport = createLocalTransport({ shell: '/bin/sh', cwd: dir });
    const running = transport.exec('echo $$ > pgid; sleep 600', { env: {}, timeoutMs: 600_000 });
    const group = Number(await waitForLine(join(dir, 'pgid')));
    const carrier = parentAndSession(group).parent;
    expect(spawnerPids()).toContain(carrier);
    process.kill(carrier, 'SIGKILL');
    const result = await running;
    expect(result.exitCode).toBeNull();
    expect(result.transportError).toBe("local: nixfleet's spawner process ended; the command was stopped");
    await waitFor(() => !isProcessGroupAlive(group), `group ${group} to be gone`, 10_000);
    expect(spawnerPids()).not.toContain(carrier);

    const next = await transport.exec('echo again', { env: {}, timeoutMs: 30_000 });
    expect(next.exitCode).toBe(0);
  });

  it('a spawner lost before it reported a command spawned: the command starts on a new spawner and runs once', async () => {
    const dir = makeTempDir();
    const transport = createLocalTransport({ shell: '/bin/sh', cwd: dir });
    // Every spawner of the pool exists: a command each.
    await Promise.all([1, 2].map(() => transport.exec('true', { env: {}, timeoutMs: 30_000 })));
    const stopped = spawnerPids();
    for (const pid of stopped) process.kill(pid, 'SIGSTOP');
    let output = '';
    const running = transport.exec('echo ran >> runs; echo done', {
      env: {},
      timeoutMs: 30_000,
      onOutput: (chunk) => {
        output += chunk;
      },
    });
    // Its start request waits, unread, in a stopped spawner, which then dies.
    for (const pid of stopped) process.kill(pid, 'SIGKILL');
    const result = await running;
    expect(result.transportError).toBeUndefined();
    expect(result.exitCode).toBe(0);
    expect(output).toBe('done\n');
    expect(readFileSync(join(dir, 'runs'), 'utf8')).toBe('ran\n');
    expect(spawnerPids().filter((pid) => stopped.includes(pid))).toEqual([]);
  });

  describe('a spawner that does not answer (stopped)', () => {
    /** Every spawner of the pool exists (a command each), then all of them are stopped. */
    const stopSpawners = async (transport: ReturnType<typeof createLocalTransport>) => {
      await Promise.all([1, 2].map(() => transport.exec('true', { env: {}, timeoutMs: 30_000 })));
      const stopped = spawnerPids();
      for (const pid of stopped) process.kill(pid, 'SIGSTOP');
      return stopped;
    };
    /** Resumes them and lets each handle what waited: the command asked for earlier, never to run. */
    const resume = async (transport: ReturnType<typeof createLocalTransport>, stopped: number[]) => {
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      const after = await Promise.all([1, 2].map(() => transport.exec('true', { env: {}, timeoutMs: 30_000 })));
      expect(after.map((result) => result.exitCode)).toEqual([0, 0]);
      expect(spawnerPids()).toEqual(stopped);
    };

    it("ends the command at its op's timeout, as never started; it does not run later", async () => {
      const dir = makeTempDir();
      const transport = createLocalTransport({ shell: '/bin/sh', cwd: dir });
      const stopped = await stopSpawners(transport);
      const result = await transport.exec('echo ran >> runs', { env: {}, timeoutMs: 1_000 });
      expect(result).toEqual({
        exitCode: null,
        signal: null,
        timedOut: false,
        aborted: false,
        transportError:
          "local: nixfleet's spawner did not start /bin/sh within the op's timeout (1s); the command never ran",
      });
      await resume(transport, stopped);
      expect(existsSync(join(dir, 'runs'))).toBe(false);
    });

    it('no longer keeps nixfleet running once its command was given up', async () => {
      const dist = join(import.meta.dirname, '../../dist/engine/transports');
      const dir = makeTempDir({
        'given-up.mjs': `import { writeFileSync } from 'node:fs';
import { createLocalTransport } from ${JSON.stringify(join(dist, 'local.js'))};
import { spawnerPids } from ${JSON.stringify(join(dist, 'spawner/spawner-client.js'))};
const transport = createLocalTransport({ shell: '/bin/sh', cwd: process.cwd() });
await Promise.all([1, 2].map(() => transport.exec('true', { env: {}, timeoutMs: 30000 })));
writeFileSync('spawners', spawnerPids().join(' '));
for (const pid of spawnerPids()) process.kill(pid, 'SIGSTOP');
const result = await transport.exec('echo ran >> runs', { env: {}, timeoutMs: 500 });
writeFileSync('error', result.transportError);
`,
      });
      // The spawners share nixfleet's stderr: a stopped one would hold a pipe open.
      const result = await execa(process.execPath, ['given-up.mjs'], {
        cwd: dir,
        stdio: 'ignore',
        reject: false,
        timeout: 20_000,
      });
      const stopped = readFileSync(join(dir, 'spawners'), 'utf8').split(' ').map(Number);
      // Resumed, they read end-of-file from nixfleet's side and end.
      for (const pid of stopped) process.kill(pid, 'SIGCONT');
      expect(result.timedOut).toBe(false);
      expect(result.exitCode).toBe(0);
      expect(stopped).toHaveLength(2);
      expect(readFileSync(join(dir, 'error'), 'utf8')).toContain(
        "did not start /bin/sh within the op's timeout (500ms)",
      );
      await waitFor(() => stopped.every((pid) => !existsSync(`/proc/${pid}`)), 'the spawners to end', 10_000);
      expect(existsSync(join(dir, 'runs'))).toBe(false);
    });

    it('a kill ends the command at once; it does not run later', async () => {
      const dir = makeTempDir();
      const transport = createLocalTransport({ shell: '/bin/sh', cwd: dir });
      const stopped = await stopSpawners(transport);
      const kill = new AbortController();
      const running = transport.exec('echo ran >> runs', { env: {}, timeoutMs: 600_000, signal: kill.signal });
      kill.abort();
      expect(await running).toEqual({ exitCode: null, signal: null, timedOut: false, aborted: true });
      await resume(transport, stopped);
      expect(existsSync(join(dir, 'runs'))).toBe(false);
    });
  });
});
