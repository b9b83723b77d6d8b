// The remote lifeline against a real sshd (see CORE-011): it must not change what a command sees
// or leaves behind while nixfleet lives. The op's stdin is /dev/null, fd 3 (the lifeline's copy of
// the session's stdin) is not inherited, the transport reports the ssh client's group and the
// remote group, and a background child of a command that ended normally keeps running. The start
// gate: a session whose stdin ends before nixfleet opened it runs nothing.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { sshArgs } from '../../src/engine/transports/ssh/arguments.js';
import { buildRemoteCommand } from '../../src/engine/transports/ssh/remote-command.js';
import { createSshTransport } from '../../src/engine/transports/ssh.js';
import type { CommandProcess, Transport } from '../../src/engine/types.js';
import { makeTempDir } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { sshHost, sshSettings } from './ssh-host.js';

vi.setConfig({ testTimeout: 90_000 });

let sshd: TestSshd;
let transport: Transport;

beforeAll(async () => {
  sshd = await startSshd();
  const work = makeTempDir({}, 'nixfleet-ssh-lifeline-');
  transport = createSshTransport(sshHost(sshd), sshSettings(), {
    controlDir: join(work, 'control'),
    configFile: sshd.clientConfig,
  });
});
afterAll(async () => {
  await transport?.close();
  await sshd?.stop();
});

async function run(command: string) {
  let output = '';
  const processes: CommandProcess[] = [];
  const result = await transport.exec(command, {
    env: {},
    timeoutMs: 60_000,
    onOutput: (chunk) => {
      output += chunk;
    },
    onProcess: (process) => processes.push(process),
  });
  return { ...result, output, processes };
}

describe('the remote lifeline', () => {
  it('leaves the command stdin as /dev/null and fd 3 closed, and reports the local and remote groups', async () => {
    // `test -e` is a builtin: a pipe or command substitution would open fds of its own.
    const result = await run(
      // The group is the login shell's, which starts the op's shell (field 5 of stat: the group).
      "readlink /proc/$$/fd/0; cat; test -e /proc/$$/fd/3 && echo fd3: open || echo fd3: closed; cut -d' ' -f5 /proc/$$/stat",
    );
    expect(result.exitCode, result.output).toBe(0);
    const [stdin, fd3, pid] = result.output.trim().split('\n');
    expect(stdin).toBe('/dev/null');
    expect(fd3).toBe('fd3: closed');
    expect(result.processes.at(-1)).toMatchObject({ remoteGroup: Number(pid) });
    expect(result.processes[0]!.group).toBeGreaterThan(0);
    expect(result.processes[0]!.startedAt).toEqual(expect.any(Number));
  });

  it('does not kill what a command that ended normally left in the background', async () => {
    const result = await run('sleep 600 </dev/null >/dev/null 2>&1 & echo $!');
    expect(result.exitCode, result.output).toBe(0);
    const child = Number(result.output.trim());
    // The session has closed, so the lifeline has read its end-of-file by now, or will at once.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(isRunning(child)).toBe(true);
    process.kill(child, 'SIGKILL');
  });

  it('runs nothing when the stdin of ssh ends before nixfleet opened the start gate (nixfleet gone)', async () => {
    const dir = makeTempDir({}, 'nixfleet-ssh-gate-');
    const line = buildRemoteCommand({ command: 'touch ran', env: {}, cwd: dir, shell: '/bin/sh', startToken: 't' });
    const connection = { host: sshHost(sshd), settings: sshSettings().ssh, configFile: sshd.clientConfig };
    // The ssh client as the session starts it, but its stdin at end-of-file at once.
    const gone = spawnSync('ssh', sshArgs(connection, { kind: 'none' }, line), { stdio: ['ignore', 'pipe', 'pipe'] });
    expect(gone.status, String(gone.stderr)).toBe(125);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    // The transport opens it: the same command runs.
    expect((await run(`touch ${JSON.stringify(join(dir, 'ran'))}`)).exitCode).toBe(0);
    expect(existsSync(join(dir, 'ran'))).toBe(true);
  });
});
