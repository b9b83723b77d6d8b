// A host's master whose spawner dies after it started the login but before it reported it
// (CORE-001, "The spawner process"): a master has no start gate, so that login may be going on
// with no pid known. nixfleet stops it by its tag and starts the master once more; no second
// master, nor a login left over, stays in the background. No test can time a spawner's death
// into that moment, so this file's spawner is the real Perl spawner with one change: the first
// time it would report a master started, it exits instead. It comes first on PATH as a
// `python3.12`, which nixfleet prefers to Perl. The real sshd on loopback is the host.
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { spawnerKind } from '../../src/engine/transports/spawner/spawner-client.js';
import { createSshTransport } from '../../src/engine/transports/ssh.js';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir } from '../support/cli.js';
import { describeProcesses, isRunning, processesMatching } from '../support/processes.js';
import { pathWithSshWrapper } from '../support/ssh-wrapper.js';
import { sshdRestoringPath, sshHost, sshSettings } from './ssh-host.js';

vi.setConfig({ testTimeout: 90_000 });

const PERL_SPAWNER = fileURLToPath(new URL('../../src/engine/transports/spawner/spawner.pl', import.meta.url));
const REPORT = "    reply('s', $id, pack('N', $command->{pid}));";

const { sshd } = sshdRestoringPath();

/**
 * A PATH with a spawner first on it that dies, once, just before it would report a master (the
 * one command it starts with no pipes), and an `ssh` that writes each master login's pid to `pids`.
 */
function pathWithDyingSpawner(dir: string, pids: string): string {
  const source = readFileSync(PERL_SPAWNER, 'utf8');
  expect(source).toContain(REPORT);
  const once = join(dir, 'died-once');
  const dies = `    if (!$command->{output} && !-e ${JSON.stringify(once)}) { open my $m, '>', ${JSON.stringify(once)}; POSIX::_exit(9); }\n`;
  const spawner = join(dir, 'spawner-dies.pl');
  writeFileSync(spawner, source.replace(REPORT, dies + REPORT));
  const bin = join(dir, 'python-bin');
  const python = join(bin, 'python3.12');
  mkdirSync(bin);
  writeFileSync(python, `#!/bin/sh\nexec perl ${JSON.stringify(spawner)}\n`);
  chmodSync(python, 0o755);
  symlinkSync(python, join(bin, 'python3'));
  const withSsh = pathWithSshWrapper(dir, `case " $* " in *" -N "*) echo $$ >> ${JSON.stringify(pids)} ;; esac`);
  return `${bin}:${withSsh}`;
}

describe('a spawner lost after it started the master, before it reported it', () => {
  it('stops that login, starts the master once more, and leaves nothing behind', async () => {
    const dir = makeTempDir();
    const pids = join(dir, 'master-logins');
    const controlDir = join(dir, 'control');
    process.env.PATH = pathWithDyingSpawner(dir, pids);
    const transport = createSshTransport(sshHost(sshd()), sshSettings(), {
      controlDir,
      configFile: sshd().clientConfig,
    });

    const result = await transport.exec('echo ran', { env: {}, timeoutMs: 60_000 });
    expect(spawnerKind()).toBe('Python');
    expect(result.transportError).toBeUndefined();
    expect(result.exitCode).toBe(0);
    const logins = readFileSync(pids, 'utf8').trim().split('\n').map(Number);
    expect(logins).toHaveLength(2);
    // The first login, never reported, was stopped: it is not the master that ran the command.
    await waitFor(() => !isRunning(logins[0] as number), `the unreported login (${logins[0]}) to end`, 10_000);

    await transport.close();
    // Past a login on loopback: no ssh names this transport's sockets, neither the master nor a
    // second connection the first login would have made.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    const gone = () => processesMatching(controlDir).length === 0;
    await waitFor(gone, 'every ssh of this transport to end', 5_000).catch(() => {});
    const left = processesMatching(controlDir);
    expect(left, describeProcesses(left)).toEqual([]);
  });
});
