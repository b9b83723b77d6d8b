// CORE-008 over ssh (CORE-007): a rollout across hosts behind the real sshd on loopback. A host
// that cannot be reached fails like any other, counts against the budget, and stops the rollout
// before the next batch; the hosts that were reached ran remotely, in their waves.

import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

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
    const result = await runCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 120_000 });
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
});
