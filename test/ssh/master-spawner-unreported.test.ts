// A host's master whose spawner dies after it started the login but before it reported it
// (CORE-001, "The spawner process"): a master has no start gate, so that login may be going on
// with no pid known. nixfleet stops it by its tag and starts the master once more; no second
// master, nor a login left over, stays in the background. No test can time a spawner's death
// into that moment, so this file's spawner is the real Perl spawner with one change: the first
// time it would report a master started, it writes down the master's pid and exits instead. It
// comes first on PATH as a `python3.12`, which nixfleet prefers to Perl. The real sshd on
// loopback is the host.
import { chmodSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it, vi } from 'vitest';
import { spawnerKind } from '../../src/engine/transports/spawner/spawner-client.js';
import { createSshTransport } from '../../src/engine/transports/ssh.js';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir } from '../support/cli.js';
import { describeProcesses, isRunning, processesMatching } from '../support/processes.js';
import { sshdRestoringPath, sshHost, sshSettings } from './ssh-host.js';

vi.setConfig({ testTimeout: 90_000 });

const PERL_SPAWNER = fileURLToPath(new URL('../../src/engine/transports/spawner/spawner.pl', import.meta.url));
const REPORT = "    reply('s', $id, pack('N', $command->{pid}));";

const { sshd } = sshdRestoringPath();

/**
 * A PATH with a spawner first on it that dies, once, just before it would report a master (the
 * one command it starts with no pipes), having written that master's pid to `unreported`.
 */
function pathWithDyingSpawner(dir: string, unreported: string): string {
  const source = readFileSync(PERL_SPAWNER, 'utf8');
  expect(source).toContain(REPORT);
  const file = JSON.stringify(unreported);
  const dies = `    if (!$command->{output} && !-e ${file}) { open my $m, '>', ${file}; print $m $command->{pid}; close $m; POSIX::_exit(9); }\n`;
  const spawner = join(dir, 'spawner-dies.pl');
  writeFileSync(spawner, source.replace(REPORT, dies + REPORT));
  const bin = join(dir, 'bin');
  const python = join(bin, 'python3.12');
  mkdirSync(bin);
  writeFileSync(python, `#!/bin/sh\nexec perl ${JSON.stringify(spawner)}\n`);
  chmodSync(python, 0o755);
  symlinkSync(python, join(bin, 'python3'));
  return `${bin}${delimiter}${process.env.PATH}`;
}

describe('a spawner lost after it started the master, before it reported it', () => {
  it('stops that login, starts the master once more, and leaves nothing behind', async () => {
    const dir = makeTempDir();
    const unreported = join(dir, 'unreported-master');
    const controlDir = join(dir, 'control');
    process.env.PATH = pathWithDyingSpawner(dir, unreported);
    const transport = createSshTransport(sshHost(sshd()), sshSettings(), {
      controlDir,
      configFile: sshd().clientConfig,
    });

    const result = await transport.exec('echo ran', { env: {}, timeoutMs: 60_000 });
    expect(spawnerKind()).toBe('Python');
    expect(result.transportError).toBeUndefined();
    expect(result.exitCode).toBe(0);
    // The login whose spawner died before reporting it was stopped; another one ran the command.
    const first = Number(readFileSync(unreported, 'utf8'));
    expect(first).toBeGreaterThan(0);
    await waitFor(() => !isRunning(first), `the unreported login (${first}) to end`, 10_000);

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
