// A host that stops answering while a command runs (CORE-007, timeouts; CORE-001: a timeout ends
// a command, bounded by the grace period): the sshd serving it is frozen with SIGSTOP, as a
// network partition looks from here. The op's timeout still ends the command, over a master as
// without one: the stop request over the master is bounded by its own deadline (ssh/reaper.ts),
// not only by ssh's exit, whose output the master may hold while the host does not answer.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

/** The sshd listener and every process under it: what serves the host. */
function sshdTree(): number[] {
  const listener = Number(readFileSync(join(sshd.dir, 'sshd.pid'), 'utf8').trim());
  const parents = new Map<number, number[]>();
  for (const line of execFileSync('ps', ['-e', '-o', 'pid=,ppid=']).toString().trim().split('\n')) {
    const [pid, ppid] = line.trim().split(/\s+/).map(Number) as [number, number];
    parents.set(ppid, [...(parents.get(ppid) ?? []), pid]);
  }
  const tree = [listener];
  for (let i = 0; i < tree.length; i++) tree.push(...(parents.get(tree[i]!) ?? []));
  return tree;
}

const signalAll = (pids: readonly number[], signal: NodeJS.Signals) => {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // gone already
    }
  }
};

describe.each([true, false])('a host frozen mid-command (multiplex: %s)', (multiplex) => {
  it('ends the command at its timeout: TIMEOUT, the run over', { timeout: 120_000 }, async () => {
    const dir = makeTempDir();
    const marker = multiplex ? '31.25' : '31.75';
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 3s, multiplex: ${multiplex} }
hosts:
  web1: ${JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user })}
ops:
  deploy: { run: 'echo started; sleep ${marker}', timeout: 3s }
`,
    );
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], {
      env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig },
      timeoutMs: 110_000,
    });
    let frozen: number[] = [];
    try {
      await waitFor(() => commandStatus(dir, 'web1', 'deploy') === 'EXECUTING', 'the command running');
      // The sleep itself, whose whole command line this is: the local ssh client's arguments hold
      // the same words before the host has run anything, and a host frozen then fails the login
      // (ssh's banner timeout, an ERROR), not the command.
      await waitFor(
        () =>
          execFileSync('ps', ['-e', '-o', 'args='])
            .toString()
            .split('\n')
            .some((line) => line.trim() === `sleep ${marker}`),
        'the remote sleep',
      );
      frozen = sshdTree();
      signalAll(frozen, 'SIGSTOP');
      const result = await apply;
      expect(result.exitCode, String(result.stderr)).toBe(1);
      expect(JSON.parse(String(result.stdout)).hosts.web1[0]).toMatchObject({ status: 'TIMEOUT' });
    } finally {
      signalAll(frozen, 'SIGCONT');
      apply.kill('SIGKILL');
      try {
        execFileSync('pkill', ['-f', `sleep ${marker}`]);
      } catch {
        // already ended
      }
    }
  });
});
