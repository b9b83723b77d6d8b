// CORE-001, CORE-007: over ssh a command's time starts with `exec`, opening the host's master
// included (a host that does not answer must time out), and its journaled start does too: a
// TIMEOUT is never journaled shorter than its limit. Here a real ProxyCommand takes 2 s to reach
// the test's sshd, so the master opens 2 s into the command's 4 s.
import { chmodSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const PROXY = `setTimeout(() => {
const s = require('net').connect(Number(process.argv[1]), '127.0.0.1');
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on('close', () => process.exit(0));
s.on('error', () => process.exit(1));
}, 2000);`;

it('a TIMEOUT over a slow master connection is journaled at least as long as its limit', {
  timeout: 60_000,
}, async () => {
  const dir = makeTempDir();
  const proxy = join(dir, 'proxy.sh');
  writeFileSync(proxy, `#!/bin/sh\nexec '${process.execPath}' -e "${PROXY.replaceAll('\n', ' ')}" "$1"\n`);
  chmodSync(proxy, 0o755);
  const config = join(dir, 'ssh_config');
  writeFileSync(config, `${readFileSync(sshd.clientConfig, 'utf8')}  ProxyCommand ${proxy} %p\n`);
  writeFileSync(
    join(dir, 'fleet.yaml'),
    `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 10s, multiplex: true }
hosts:
  web1: ${JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user })}
ops:
  deploy: { run: 'sleep 30', timeout: 4s }
`,
  );
  const result = await runCli(dir, ['apply', 'deploy', '--renderer', 'plain'], {
    env: { NIXFLEET_SSH_CONFIG: config },
    timeoutMs: 50_000,
  });
  expect(result.exitCode, result.stdout + result.stderr).toBe(1);
  const journal = openJournal(join(dir, '.nixfleet'), { readOnly: true });
  try {
    const [command] = journal.listCommands({ runId: 'r1' });
    expect(command).toMatchObject({ status: 'TIMEOUT' });
    const took = command!.finishedAt! - command!.startedAt!;
    // The limit, and no more than the kill's grace beyond it.
    expect(took).toBeGreaterThanOrEqual(4000);
    expect(took).toBeLessThan(10_000);
  } finally {
    journal.close();
  }
});
