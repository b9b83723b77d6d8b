// CORE-007, the ssh client's environment: the ssh processes nixfleet starts (a command's session,
// a multiplexing master, the reaper a timeout starts) do not inherit `NIXFLEET_TOKEN` or
// `NIXFLEET_DATABASE_URL`, as local commands do not (CORE-001). ssh hands its environment on: to
// the host through a user's `SendEnv`, and to a `ProxyCommand`. Here a real ProxyCommand in the
// client's ssh_config records the environment it was started with, and the ssh that started it,
// and then carries the connection to the test's sshd.
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { freshDatabaseUrl } from '../support/postgres.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const PROXY = `const s = require('net').connect(Number(process.argv[1]), '127.0.0.1');
process.stdin.pipe(s);
s.pipe(process.stdout);
s.on('close', () => process.exit(0));
s.on('error', () => process.exit(1));`;

/** An ssh_config whose ProxyCommand writes `<its pid>.env` into `envDir`: ssh's command line, then the environment. */
function configWithProxy(dir: string, envDir: string): string {
  const proxy = join(dir, 'proxy.sh');
  writeFileSync(
    proxy,
    `#!/bin/sh
{ tr '\\0' ' ' </proc/$PPID/cmdline; echo; env; } >'${envDir}'/$$.env
exec '${process.execPath}' -e "${PROXY.replaceAll('\n', ' ')}" "$1"
`,
  );
  chmodSync(proxy, 0o755);
  const config = join(dir, 'ssh_config');
  writeFileSync(config, `${readFileSync(sshd.clientConfig, 'utf8')}  ProxyCommand ${proxy} %p\n`);
  return config;
}

interface SeenBy {
  readonly ssh: 'master' | 'session' | 'reaper';
  readonly env: string;
}

function proxiesSeen(envDir: string): SeenBy[] {
  const files = readdirSync(envDir).filter((file) => file.endsWith('.env'));
  return files.map((file) => {
    const [commandLine = '', ...env] = readFileSync(join(envDir, file), 'utf8').split('\n');
    const ssh = commandLine.includes('ControlMaster=yes')
      ? 'master'
      : commandLine.includes('nixfleet_alive')
        ? 'reaper'
        : 'session';
    return { ssh, env: env.join('\n') };
  });
}

function fleet(multiplex: boolean): string {
  return `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 10s, multiplex: ${multiplex} }
hosts:
  web1: { transport: ssh, address: 127.0.0.1, port: ${sshd.port}, user: ${JSON.stringify(sshd.user)} }
ops:
  hello: { run: echo hello }
  hang: { run: exec sleep 30, timeout: 2s }
pipelines:
  both: { ops: [hello, hang] }
`;
}

it.each([
  { multiplex: true, label: 'the master', expected: ['master'] },
  { multiplex: false, label: 'each session and the reaper', expected: ['reaper', 'session', 'session'] },
])(
  "multiplex: $multiplex — $label runs without nixfleet's token and journal URL, with the rest of its environment",
  { timeout: 90_000 },
  async ({ multiplex, expected }) => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(multiplex), 'envs/.keep': '' });
    const envDir = join(dir, 'envs');
    const url = freshDatabaseUrl();
    const token = 'dashboard-token-kept-from-ssh-0123456789';
    const env = {
      NIXFLEET_SSH_CONFIG: configWithProxy(dir, envDir),
      NIXFLEET_TOKEN: token,
      NIXFLEET_DATABASE_URL: url,
      KEPT_FOR_SSH: 'yes',
    };
    const apply = await runCli(dir, ['--json', 'apply', 'both'], { env, timeoutMs: 80_000 });
    expect(apply.exitCode, apply.stderr).toBe(1);
    const report = JSON.parse(apply.stdout);
    expect(report.hosts.web1.map((c: { status: string }) => c.status)).toEqual(['SUCCESS', 'TIMEOUT']);

    const seen = proxiesSeen(envDir);
    expect(seen.map((proxy) => proxy.ssh).sort()).toEqual(expected);
    for (const { ssh, env: seenEnv } of seen) {
      expect(seenEnv, ssh).toMatch(/^KEPT_FOR_SSH=yes$/m);
      expect(seenEnv, ssh).not.toMatch(/^NIXFLEET_(TOKEN|DATABASE_URL)=/m);
      expect(seenEnv, ssh).not.toContain(token);
      expect(seenEnv, ssh).not.toContain(url);
    }
  },
);
