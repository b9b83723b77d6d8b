// A nixfleet killed with SIGKILL during an ssh run (see CORE-011): the remote commands, the local
// ssh clients and the multiplexing master all end within seconds, and the next run on those
// hosts never overlaps a command that is still running. Real sshd on loopback.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { waitFor, waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { isRunning, processesMatching } from '../support/processes.js';
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
      for (const file of files) await waitForFile(file);
      const pids = files.map((file) => Number(readFileSync(file, 'utf8')));
      // Every ssh process of this run names the data directory (its control socket or its key).
      const sshMarker = multiplex ? join(dir, '.nixfleet', 'ssh') : sshd.clientKey;
      expect(processesMatching(sshMarker).length).toBeGreaterThan(0);

      apply.kill('SIGKILL');
      await apply;
      await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the remote commands to end', 30_000);
      await waitFor(() => processesMatching(sshMarker).length === 0, 'the ssh clients and master', 30_000);

      const next = await runCli(dir, ['apply', 'check'], { env });
      expect(next.exitCode, next.stdout + next.stderr).toBe(0);
      const runs = JSON.parse((await runCli(dir, ['runs', '--json'], { env })).stdout) as { status: string }[];
      expect(runs.map((r) => r.status)).toEqual(['COMPLETE', 'ORPHANED']);
    });
  }
});
