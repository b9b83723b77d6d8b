// ssh's own failures become one clear line each (see CORE-007, errors): unreachable port, refused
// key, host-key mismatch, unknown host key under strict checking, missing identity file. None of
// them runs the command.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createSshTransport } from '../../src/engine/transports/ssh.js';
import type { Host, Settings } from '../../src/registry/types.js';
import { makeTempDir } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { sshHost, sshSettings } from './ssh-host.js';

// Real connections: a loaded machine (CI, parallel suites) can take seconds per login.
vi.setConfig({ testTimeout: 90_000 });

let sshd: TestSshd;
let work: string;
let attempts = 0;

beforeAll(async () => {
  sshd = await startSshd();
  work = makeTempDir({}, 'nixfleet-ssh-errors-');
});
afterAll(async () => {
  await sshd?.stop();
});

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

async function attempt(host: Partial<Host>, settings: Settings = sshSettings(), configFile = sshd.clientConfig) {
  const t = createSshTransport(sshHost(sshd, host), settings, { controlDir: join(work, 'control'), configFile });
  const marker = join(work, `ran-${++attempts}`);
  let output = '';
  try {
    const result = await t.exec(`touch ${marker}`, {
      env: {},
      timeoutMs: 60_000,
      onOutput: (chunk) => {
        output += chunk;
      },
    });
    return { ...result, output, ran: existsSync(marker) };
  } finally {
    await t.close();
  }
}

/** A client config whose known_hosts holds another key for the test server. */
function configWithKnownHosts(name: string, lines: string): string {
  const knownHosts = join(work, `${name}_known_hosts`);
  writeFileSync(knownHosts, lines);
  const config = join(work, `${name}_ssh_config`);
  writeFileSync(config, `Host *\n  UserKnownHostsFile ${knownHosts}\n  GlobalKnownHostsFile /dev/null\n`);
  return config;
}

describe.each([
  { multiplex: true, mode: 'multiplexed' },
  { multiplex: false, mode: 'direct' },
])('$mode connections', ({ multiplex }) => {
  it('an unreachable port is "connection refused" with the address and port', async () => {
    const port = await closedPort();
    const result = await attempt({ port }, sshSettings({ multiplex }));
    expect(result.transportError).toBe(`ssh: connection refused by 127.0.0.1:${port}`);
    expect(result).toMatchObject({ exitCode: null, timedOut: false, aborted: false, ran: false });
    // ssh's own words stay in the command's output for whoever reads the log.
    expect(result.output).toContain('Connection refused');
  });

  it('a key the server refuses is "permission denied (publickey)" for user@address', async () => {
    const result = await attempt({ identityFile: sshd.strangerKey }, sshSettings({ multiplex }));
    expect(result.transportError).toBe(`ssh: permission denied (publickey) for ${sshd.user}@127.0.0.1`);
    expect(result).toMatchObject({ exitCode: null, ran: false });
  });

  it('an ssh_config that sets RemoteCommand is named, with the fix, and nothing runs', async () => {
    const config = join(work, `remote-command-${multiplex}_ssh_config`);
    writeFileSync(config, `Host *\n  RemoteCommand echo from-the-config\nInclude ${sshd.clientConfig}\n`);
    const result = await attempt({}, sshSettings({ multiplex }), config);
    // Before, ssh's own line: `ssh: Cannot execute command-line and remote command.`
    expect(result.transportError).toBe(
      'ssh: the ssh_config for 127.0.0.1 sets RemoteCommand, and nixfleet sends a command of its own: set `RemoteCommand none` for it, or give nixfleet an ssh_config of its own (NIXFLEET_SSH_CONFIG)',
    );
    expect(result).toMatchObject({ exitCode: null, ran: false });
  });

  it('a host key that differs from known_hosts is a mismatch, and nothing runs', async () => {
    // Any valid ed25519 key that is not the server's: the client key's public half will do.
    const otherKey = readFileSync(`${sshd.clientKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' ');
    const config = configWithKnownHosts(`wrong-${multiplex}`, `[127.0.0.1]:${sshd.port} ${otherKey}\n`);
    const result = await attempt({}, sshSettings({ multiplex }), config);
    expect(result.transportError).toBe('ssh: host key for 127.0.0.1 does not match known_hosts');
    expect(result).toMatchObject({ exitCode: null, ran: false });
  });
});

describe('host key policy', () => {
  it('strictHostKeyChecking: yes refuses a host missing from known_hosts', async () => {
    const config = configWithKnownHosts('empty', '');
    const result = await attempt({}, sshSettings({ strictHostKeyChecking: 'yes' }), config);
    expect(result.transportError).toBe(
      'ssh: host key for 127.0.0.1 is not in known_hosts (strictHostKeyChecking: yes)',
    );
    expect(result.ran).toBe(false);
  });

  it('accept-new (the default) records a new host and runs', async () => {
    const config = configWithKnownHosts('fresh', '');
    const result = await attempt({}, sshSettings(), config);
    expect(result).toMatchObject({ exitCode: 0, ran: true });
    expect(result.transportError).toBeUndefined();
    expect(readFileSync(join(work, 'fresh_known_hosts'), 'utf8')).toContain(sshd.hostPublicKey);
    // The "Permanently added" notice is not the command's output.
    expect(result.output).toBe('');
  });
});

describe('identity file', () => {
  it('a missing identity file is named before anything connects', async () => {
    const missing = join(work, 'no-such-key');
    const result = await attempt({ identityFile: missing });
    expect(result.transportError).toBe(`ssh: identity file ${missing} for web1 does not exist`);
    expect(result.ran).toBe(false);
  });

  it('settings.ssh.identityFile is used when the host has none', async () => {
    const result = await attempt({ identityFile: undefined }, sshSettings({ identityFile: sshd.clientKey }));
    expect(result).toMatchObject({ exitCode: 0, ran: true });
  });
});
