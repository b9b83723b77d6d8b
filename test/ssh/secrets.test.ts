// CORE-010 over the real sshd on loopback: secrets reach the remote commands through the stdin
// preamble, their values are redacted from everything kept or shown, and while a command that
// uses them runs, no process on this machine (the controller and the loopback host at once) has
// a value in its command line.
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FORBIDDEN,
  filesUnder,
  KEY,
  leaks,
  secretFleet,
  secretFleetDir,
  sha256,
  TOKEN,
} from '../e2e/support/secret-fleet.js';
import { runCli, spawnCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { largeSecret } from './large-secret.js';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const env = () => ({ NIXFLEET_SSH_CONFIG: sshd.clientConfig, NF_TEST_TOKEN: TOKEN });

function sshFleet(extraOps = '', multiplex = true): string {
  const host = JSON.stringify({
    transport: 'ssh',
    address: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.clientKey,
  });
  return secretFleet(`  web1: ${host}\n  web2: ${host}`, extraOps).replace(
    'settings:\n',
    `settings:\n  ssh: { connectTimeout: 5s, multiplex: ${multiplex} }\n`,
  );
}

/** Every process's command line on this machine, by pid (processes that end meanwhile are skipped). */
function commandLines(): Map<string, string> {
  const lines = new Map<string, string>();
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      lines.set(pid, readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' '));
    } catch {
      // Gone already.
    }
  }
  return lines;
}

describe('secrets over ssh', () => {
  it.each([true, false])(
    'reach the remote commands and are redacted everywhere (multiplex: %s)',
    { timeout: 120_000 },
    async (multiplex) => {
      const dir = secretFleetDir(sshFleet('', multiplex));
      const result = await runCli(dir, ['apply', '--renderer', 'plain', '--junit', 'report.xml'], {
        env: env(),
        timeoutMs: 110_000,
      });
      expect(result.exitCode, result.stdout + result.stderr).toBe(0);
      const json = await runCli(dir, ['--json', 'apply', 'fail'], { env: env(), timeoutMs: 110_000 });
      expect(json.exitCode).toBe(1);
      const logs = (await runCli(dir, ['logs', 'r1', '--host', 'web2'])).stdout;
      expect(logs).toContain(`sha=${sha256(TOKEN)}`);
      expect(logs).toContain(`keysha=${sha256(KEY)}`);
      // stdout then stderr of `whole`: ssh reads the two pipes apart, each is redacted on its own.
      expect(logs).toMatch(/token=\*\*\*\n/);
      expect(logs).toMatch(/==> c\d+ \[web2\] split SUCCESS <==\n(\*\*\*\n){2}/);
      expect(logs).toContain('***\n***\nkeysha=');
      expect(logs).toContain('Bearer *** on web2\ncmd=***');
      const texts = {
        stdout: result.stdout,
        stderr: result.stderr,
        json: json.stdout + json.stderr,
        logs,
        'logs r2': (await runCli(dir, ['logs', 'r2'])).stdout,
        junit: readFileSync(join(dir, 'report.xml'), 'utf8'),
      };
      expect(texts['logs r2']).toContain('failing with ***');
      expect(leaks(texts, filesUnder(join(dir, '.nixfleet')))).toEqual([]);
    },
  );

  // CORE-005: nixfleet's own variables win over an op's `env:` entry that uses a secret; over ssh
  // it was exported after them, and a replaced NIXFLEET_PROCESS_TAG hid the command from the
  // lifeline's search by tag (CORE-011).
  it("an env: entry with a secret does not replace nixfleet's own variables", { timeout: 120_000 }, async () => {
    const names = ['NIXFLEET_HOST', 'NIXFLEET_RUN_ID', 'NIXFLEET_PROCESS_TAG'];
    const own = `  own:
    run: printf '%s\\n' ${names.map((name) => `"${name}=$${name}"`).join(' ')}
    env: { ${names.map((name) => `${name}: "x{{ secret.token }}"`).join(', ')} }
`;
    const dir = secretFleetDir(sshFleet(own));
    const result = await runCli(dir, ['apply', 'own', '--on', 'web1', '--renderer', 'plain'], {
      env: env(),
      timeoutMs: 110_000,
    });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    const logs = (await runCli(dir, ['logs', 'r1'])).stdout;
    expect(logs).toContain('NIXFLEET_HOST=web1\nNIXFLEET_RUN_ID=r1\n');
    expect(logs).toMatch(/^NIXFLEET_PROCESS_TAG=[0-9a-f]+$/m);
  });

  it('no process on this machine shows a value in its command line while the command runs', {
    timeout: 120_000,
  }, async () => {
    const ready = join(mkdtempSync(join(tmpdir(), 'nixfleet-ready-')), 'ready');
    const hold = `  hold:
    run: printf '%s' {{ secret.token }} > /dev/null; touch "$READY"; sleep 4; printf 'held %s %s\\n' {{ secret.key }} "$AUTH"
    env: { READY: ${JSON.stringify(ready)}, AUTH: "Bearer {{ secret.fromcmd }}" }
`;
    const dir = secretFleetDir(sshFleet(hold));
    const child = spawnCli(dir, ['apply', 'hold', '--on', 'web1', '--renderer', 'plain'], {
      env: env(),
      timeoutMs: 110_000,
    });
    const seen: string[] = [];
    let sawReference = false;
    let scans = 0;
    while (child.exitCode === null) {
      if (existsSync(ready)) {
        scans++;
        for (const [pid, line] of commandLines()) {
          if (line.includes('NIXFLEET_SECRET_token')) sawReference = true;
          for (const value of FORBIDDEN) if (line.includes(value)) seen.push(`pid ${pid}: ${line}`);
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const result = await child;
    expect(result.exitCode, String(result.stdout) + String(result.stderr)).toBe(0);
    // The scan ran while the remote command was alive: the ssh client's line (and the remote
    // shell's) name the variable, never the value.
    expect(scans).toBeGreaterThan(0);
    expect(sawReference).toBe(true);
    expect(seen).toEqual([]);
    const logs = (await runCli(dir, ['logs', 'r1'])).stdout;
    expect(logs).toContain('held *** Bearer ***');
  });

  it('a value of 100,000 lines at the size limit arrives byte for byte, well within its op’s timeout', {
    timeout: 120_000,
  }, async () => {
    const value = largeSecret();
    const big = `  big:
    run: printf 'bigsha=%s\\n' "$(printf '%s' {{ secret.big }} | sha256sum | cut -c1-64)"
    timeout: 30s
`;
    const dir = secretFleetDir(sshFleet(big).replace('secrets:\n', 'secrets:\n  big: { env: NF_TEST_BIG }\n'));
    const result = await runCli(dir, ['apply', 'big', '--on', 'web1', '--json'], {
      env: { ...env(), NF_TEST_BIG: value },
      timeoutMs: 110_000,
    });
    // Read line by line into a growing string, the login shell (bash) was still reading at 30 s.
    expect(JSON.parse(result.stdout).hosts.web1[0].status, result.stderr).toBe('SUCCESS');
    expect((await runCli(dir, ['logs', 'r1'])).stdout).toContain(`bigsha=${sha256(value)}`);
  });
});
