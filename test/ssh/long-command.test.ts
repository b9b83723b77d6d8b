// A command too long for ssh's command line (see CORE-007, the remote command): Linux lets one
// argument be 128 KiB (MAX_ARG_STRLEN), and the remote line is one, in ssh's argv here and after
// the login shell's `-c` on the host. It used to fail only when the run reached it, as
// `ssh: cannot start ssh: the command or its environment is too large (E2BIG)` on every host,
// after the stages before it had changed them. The real CLI over the real sshd: refused before
// anything runs, and a line just at the limit still runs.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const LIMIT = 128 * 1024;

/** Writes `dir`'s fleet file: `hosts` on the test's sshd (each with `fields` too), then `rest`. */
function writeSshFleet(dir: string, hosts: readonly string[], rest: string, fields: object = {}): void {
  const ssh = JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user, ...fields });
  writeFileSync(
    join(dir, 'fleet.yaml'),
    `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s }
hosts:
${hosts.map((host) => `  ${host}: ${ssh}\n`).join('')}${rest}`,
  );
}

/** A fleet of two ssh hosts: `change` touches a file, then `big` runs `: xxx…; echo big-ran`. */
function writeFleet(dir: string, padding: number): void {
  writeSshFleet(
    dir,
    ['web1', 'web2'],
    `ops:
  change:
    run: touch ${JSON.stringify(join(dir, 'changed'))}
  big:
    run: ${JSON.stringify(`: ${'x'.repeat(padding)}; echo big-ran`)}
pipelines:
  both: { ops: [change, big] }
`,
  );
}

const REFUSAL =
  /^nixfleet: op `big` on `web1`: its `run` makes an ssh command line of (\d+) bytes, more than the 131072 \(128 KiB\) Linux lets one argument be, so ssh could not start it \(and 1 more command\(s\) of this run\); nothing was run$/;

describe('an ssh command longer than one argument may be', { timeout: 150_000 }, () => {
  it('plan and apply (text, --json) refuse it before anything runs (exit 2), naming the op, the host, the size and the fix', async () => {
    const dir = makeTempDir();
    writeFleet(dir, 140_000);
    const env = { NIXFLEET_SSH_CONFIG: sshd.clientConfig };
    for (const args of [
      ['plan', 'both'],
      ['apply', 'both'],
      ['apply', 'both', '--json'],
    ]) {
      const result = await runCli(dir, args, { env, timeoutMs: 60_000 });
      const lines = result.stderr.trimEnd().split('\n');
      expect(lines, args.join(' ')).toHaveLength(2);
      expect(lines[0], args.join(' ')).toMatch(REFUSAL);
      expect(Number(REFUSAL.exec(lines[0]!)![1])).toBeGreaterThan(140_000);
      expect(lines[1]).toBe(
        "  hint: put the long part in a script on the host and run that from `big`, or shorten the command (its env and the host's vars travel in the same line)",
      );
      expect(result.exitCode, args.join(' ')).toBe(2);
      if (args.includes('--json'))
        expect(JSON.parse(result.stdout).error.message).toBe(lines[0]!.slice('nixfleet: '.length));
    }
    // The stage before it never ran, and no run was journaled.
    expect(existsSync(join(dir, 'changed'))).toBe(false);
    const runs = await runCli(dir, ['runs', '--json']);
    expect(JSON.parse(runs.stdout)).toEqual([]);
  });

  it('host vars that together overflow the line are refused the same way (each alone passes validate)', async () => {
    const dir = makeTempDir();
    const vars = Object.fromEntries(Array.from({ length: 3 }, (_, i) => [`blob${i}`, 'x'.repeat(50_000)]));
    writeSshFleet(
      dir,
      ['web1'],
      `ops:
  hello:
    run: touch ${JSON.stringify(join(dir, 'ran'))}
`,
      { vars },
    );
    expect((await runCli(dir, ['validate'])).exitCode).toBe(0);
    const result = await runCli(dir, ['apply', 'hello'], { env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig } });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toMatch(
      /^nixfleet: op `hello` on `web1`: its `run` makes an ssh command line of 15\d{4} bytes/,
    );
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('a line of exactly 128 KiB runs on the host; one byte more is refused', async () => {
    const dir = makeTempDir();
    const env = { NIXFLEET_SSH_CONFIG: sshd.clientConfig };
    // The refusal says how long the line is: the padding that makes it exactly the limit.
    writeFleet(dir, 140_000);
    const probe = await runCli(dir, ['plan', 'big'], { env, timeoutMs: 60_000 });
    const bytes = Number(REFUSAL.exec(probe.stderr.split('\n')[0]!)?.[1]);
    expect(bytes, probe.stderr).toBeGreaterThan(LIMIT);
    const padding = 140_000 - (bytes - LIMIT);

    writeFleet(dir, padding + 1);
    const over = await runCli(dir, ['apply', 'big', '--on', 'web1'], { env, timeoutMs: 60_000 });
    expect(over.exitCode, over.stderr).toBe(2);
    expect(over.stderr).toContain(`makes an ssh command line of ${LIMIT + 1} bytes`);

    writeFleet(dir, padding);
    const at = await runCli(dir, ['apply', 'big', '--on', 'web1'], { env, timeoutMs: 60_000 });
    expect(at.exitCode, at.stdout + at.stderr).toBe(0);
    const logs = await runCli(dir, ['logs', 'r1']);
    expect(logs.stdout).toContain('big-ran');
  });

  it('an armed rollback is measured as the line that arms its timer: refused though it fits alone, and one at the limit arms and runs', async () => {
    const dir = makeTempDir();
    const env = { NIXFLEET_SSH_CONFIG: sshd.clientConfig };
    const armedFleet = (rollback: string, armed: boolean) =>
      writeSshFleet(
        dir,
        ['web1'],
        `ops:
  big:
    run: touch ${JSON.stringify(join(dir, 'big-ran'))}
    rollback:
      run: ${JSON.stringify(rollback)}
${armed ? '      armed: 30s\n' : ''}`,
      );
    const refusal =
      /^nixfleet: op `big` on `web1`: its armed `rollback`, quoted inside the script that arms the host's timer, makes an ssh command line of (\d+) bytes, more than the 131072 \(128 KiB\) Linux lets one argument be, so ssh could not start it; nothing was run\n {2}hint: put the long part of the rollback in a script on the host and run that from `big`'s rollback, or shorten the rollback \(armed, it travels quoted in the timer's script, with the op's env and the host's vars\)$/;
    // The remote line quotes a command, so each `'` is 4 bytes of it (about 50 KB here); armed,
    // it is quoted into the timer's script first, then that is quoted: 13 (over 140 KB).
    const quotes = `echo ${"'x' ".repeat(5_000)}`;
    armedFleet(quotes, false);
    const alone = await runCli(dir, ['plan', 'big'], { env });
    expect(alone.exitCode, alone.stderr).toBe(0);
    armedFleet(quotes, true);
    const refused = await runCli(dir, ['apply', 'big'], { env });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(refusal);
    expect(existsSync(join(dir, 'big-ran'))).toBe(false);

    // At the limit as measured (the refusal says the size), the timer is armed over ssh and disarmed.
    const padded = (bytes: number) => `: ${'x'.repeat(bytes)}; echo undone`;
    armedFleet(padded(LIMIT), true);
    const probe = await runCli(dir, ['plan', 'big'], { env });
    const bytes = Number(refusal.exec(probe.stderr)?.[1]);
    expect(bytes, probe.stderr).toBeGreaterThan(LIMIT);
    armedFleet(padded(LIMIT - (bytes - LIMIT) + 1), true);
    const over = await runCli(dir, ['plan', 'big'], { env });
    expect(over.exitCode, over.stderr).toBe(2);
    expect(over.stderr).toContain(`makes an ssh command line of ${LIMIT + 1} bytes`);
    armedFleet(padded(LIMIT - (bytes - LIMIT)), true);
    const at = await runCli(dir, ['apply', 'big', '--json'], { env, timeoutMs: 60_000 });
    expect(at.exitCode, at.stderr).toBe(0);
    expect(JSON.parse(at.stdout).hosts.web1[0]).toMatchObject({
      status: 'SUCCESS',
      armed: { delayMs: 30_000, state: 'disarmed' },
    });
    expect(existsSync(join(dir, 'big-ran'))).toBe(true);
  });
});
