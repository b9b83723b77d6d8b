// CORE-008 over ssh (CORE-007): a rollout across hosts behind the real sshd on loopback. A host
// that cannot be reached fails like any other, counts against the budget, and stops the rollout
// before the next batch; the hosts that were reached ran remotely, in their waves. A host whose
// commands have all ended holds no ssh master while later waves run (CORE-002, "Connections").

import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

function mastersUnder(dir: string): string[] {
  return readdirSync('/proc')
    .filter((name) => /^\d+$/.test(name))
    .flatMap((pid) => {
      try {
        const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
        return args.includes(`${dir}/`) && args.includes('ControlMaster=yes') ? [pid] : [];
      } catch {
        return [];
      }
    });
}

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

describe('a rollout over ssh', () => {
  it('canary, then batches; an unreachable host exceeds the budget and the last batch is SKIPPED', async () => {
    const dir = makeTempDir();
    const ran = join(dir, 'ran.txt');
    const host = (extra: Record<string, unknown> = {}) =>
      JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user, ...extra });
    const fleet = `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s }
hosts:
  web1: ${host()}
  web2: ${host()}
  dead: ${host({ port: await closedPort() })}
  web3: ${host()}
ops:
  switch: { run: 'echo "$NIXFLEET_HOST switch" >> ${ran}' }
  check: { run: 'echo "$NIXFLEET_HOST check" >> ${ran}' }
pipelines:
  deploy:
    ops: [switch, check]
    rollout: { canary: web1, batch: 2, maxFailures: 0 }
`;
    writeFileSync(join(dir, 'fleet.yaml'), fleet);
    const result = await runCli(dir, ['apply', 'deploy', '--json'], {
      env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig },
      timeoutMs: 120_000,
    });
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout);
    const reason = 'failure budget exceeded: 1 of 4 hosts failed, limit 0';
    expect(report).toMatchObject({ status: 'FAILED', stopped: reason });
    expect(report.hosts.dead[0]).toMatchObject({ op: 'switch', status: 'ERROR', batch: 1 });
    expect(report.hosts.dead[0].error).toMatch(/^ssh: connection refused/);
    expect(report.hosts.web3.map((e: { status: string; error: string }) => [e.status, e.error])).toEqual([
      ['SKIPPED', reason],
      ['SKIPPED', reason],
    ]);
    // web2 shared batch 1 with the dead host: its switch ran, its check was SKIPPED by the stop.
    expect(report.hosts.web2.map((e: { status: string }) => e.status)).toEqual(['SUCCESS', 'SKIPPED']);
    expect(readFileSync(ran, 'utf8').trim().split('\n')).toEqual(['web1 switch', 'web1 check', 'web2 switch']);
  }, 180_000);

  it("closes a host's ssh master once its commands have ended, while later waves run", async () => {
    const dir = makeTempDir();
    const counts = join(dir, 'masters.txt');
    const host = JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user });
    // Each host's command counts the multiplexing masters of this run: processes whose command line
    // holds `ControlMaster=yes` and a ControlPath under this directory. Bounded wait: a master being closed needs a moment to exit; one left open
    // is still counted after 10 s.
    const count = `grep -a -l -F -- '${dir}/' /proc/[0-9]*/cmdline 2>/dev/null | xargs -r grep -a -l 'ControlMaster[=]yes' 2>/dev/null | wc -l`;
    const fleet = `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s }
hosts:
  web1: ${host}
  web2: ${host}
  web3: ${host}
ops:
  switch:
    run: |
      i=0; while [ "$(${count})" -gt 1 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
      echo "$NIXFLEET_HOST $(${count})" >> ${counts}
  check: { run: 'true' }
pipelines:
  deploy:
    ops: [switch, check]
    rollout: { batch: 1 }
`;
    writeFileSync(join(dir, 'fleet.yaml'), fleet);
    const result = await runCli(dir, ['apply', 'deploy', '--json'], {
      env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig },
      timeoutMs: 120_000,
    });
    expect(result.exitCode, result.stderr).toBe(0);
    // Without the close, web2 would count web1's master beside its own, and web3 both.
    expect(readFileSync(counts, 'utf8').trim().split('\n')).toEqual(['web1 1', 'web2 1', 'web3 1']);
    // And none is left once the run is over.
    expect(mastersUnder(dir)).toEqual([]);
  }, 180_000);
});
