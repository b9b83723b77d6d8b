// No `ssh` client on the machine that runs nixfleet (see CORE-007, errors): the master and the
// session, both started by nixfleet's spawner, say so in one line, and nothing hangs. The real
// CLI with a PATH that has no ssh on it; no host is ever reached.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

describe.each([{ multiplex: true }, { multiplex: false }])(
  'no ssh client on PATH (multiplex: $multiplex)',
  ({ multiplex }) => {
    it('the command is ERROR with the reason, exit 1', async () => {
      const dir = makeTempDir({
        'fleet.yaml': `version: 1
settings:
  ssh: { multiplex: ${multiplex} }
hosts:
  web1: { transport: ssh, address: 127.0.0.1 }
ops:
  deploy: { run: 'true' }
`,
      });
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      symlinkSync(process.execPath, join(bin, 'node'));
      for (const name of ['sh', 'python3']) symlinkSync(`/usr/bin/${name}`, join(bin, name));
      const result = await runCli(dir, ['apply', 'deploy', '--json'], { env: { PATH: bin }, timeoutMs: 60_000 });
      expect(result.exitCode, result.stderr).toBe(1);
      expect(JSON.parse(result.stdout).hosts.web1[0]).toMatchObject({
        status: 'ERROR',
        error: 'ssh: no `ssh` client on PATH (install OpenSSH)',
      });
    });
  },
);
