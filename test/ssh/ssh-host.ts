// Host and settings values for transport-level tests against the test sshd (see CORE-007).
import { afterAll, beforeAll } from 'vitest';
import type { Host, Settings, SshSettings } from '../../src/registry/types.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

export function sshHost(sshd: TestSshd, overrides: Partial<Host> = {}): Host {
  return {
    id: 'web1',
    transport: 'ssh',
    address: '127.0.0.1',
    user: sshd.user,
    port: sshd.port,
    identityFile: sshd.clientKey,
    tags: [],
    vars: {},
    source: { file: 'fleet.yaml', line: 1, column: 1 },
    ...overrides,
  };
}

export function sshSettings(ssh: Partial<SshSettings> = {}): Settings {
  return {
    concurrency: 10,
    dataDir: '/nonexistent',
    shell: '/bin/sh',
    ssh: { strictHostKeyChecking: 'accept-new', connectTimeoutMs: 5_000, multiplex: true, ...ssh },
  };
}

/**
 * The real sshd for a test file whose tests put wrappers first on PATH: started before them,
 * stopped after them, with PATH given back as it was. `sshd()` is the server once started.
 */
export function sshdRestoringPath(): { readonly sshd: () => TestSshd; readonly originalPath: string | undefined } {
  let sshd: TestSshd | undefined;
  const originalPath = process.env.PATH;
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    process.env.PATH = originalPath;
    await sshd?.stop();
  });
  return { sshd: () => sshd!, originalPath };
}
