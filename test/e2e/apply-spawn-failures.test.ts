// A command whose process cannot even be created (see CORE-001, transports): an environment over
// the kernel's limit (E2BIG) is refused by Node before any process exists. It must end the
// command ERROR with a one-line reason, while the other hosts, local and ssh, carry on; before,
// `apply` stayed EXECUTING for ever with the host locked. Every wait here is bounded, so a
// regression fails instead of hanging the suite. Over ssh the whole command travels in one
// argument, which the plan now measures and refuses before anything runs
// (test/ssh/long-command.test.ts); the ssh transport's own E2BIG is test/ssh/transport.test.ts.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { localScript } from '../../src/engine/process-record.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';
import { waitFor } from '../watch/fleet-edits.js';

let sshd: TestSshd;
// Each NIXFLEET_VAR_* is one environment string, which validate keeps under 128 KiB (CORE-005);
// 32 of 100 KB are more than execve accepts in all (Linux: 2 MiB with an 8 MiB stack).
const HUGE = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`blob${i}`, 'x'.repeat(100_000)]));

interface Report {
  status: string;
  hosts: Record<string, { op: string; status: string; error: string | null }[]>;
}

function fleet(): string {
  const ssh = (vars: Record<string, string>) =>
    JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user, vars });
  return `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s }
hosts:
  big: { vars: ${JSON.stringify(HUGE)} }
  small: { vars: { blob: y } }
  remote-small: ${ssh({ blob: 'y' })}
ops:
  hello:
    run: echo hello
  after:
    run: echo after
pipelines:
  both: { ops: [hello, after] }
`;
}

describe('a command that cannot be started', () => {
  // Only this block has an ssh host: the others run without sshd.
  beforeAll(async () => {
    sshd = await startSshd();
  });
  afterAll(async () => {
    await sshd?.stop();
  });

  it('is ERROR with a one-line reason; the run ends and releases its hosts', {
    timeout: 150_000,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet() });
    const env = { NIXFLEET_SSH_CONFIG: sshd.clientConfig };
    const result = await runCli(dir, ['apply', 'both', '--json'], { env, timeoutMs: 120_000 });
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(result.exitCode, result.stderr).toBe(1);
    const report = JSON.parse(result.stdout) as Report;
    expect(report.status).toBe('PARTIAL');
    const statuses = (host: string) => report.hosts[host]!.map((entry) => entry.status);
    expect(statuses('big')).toEqual(['ERROR', 'SKIPPED']);
    expect(report.hosts.big![0]!.error).toBe(
      'local: cannot start /bin/sh: the command or its environment is too large (E2BIG)',
    );
    expect(statuses('small')).toEqual(['SUCCESS', 'SUCCESS']);
    expect(statuses('remote-small')).toEqual(['SUCCESS', 'SUCCESS']);

    // The hosts were released: the next run is not BLOCKED (exit 3) by a lock left behind.
    const again = await runCli(dir, ['apply', 'hello', '--on', 'small,remote-small', '--json'], {
      env,
      timeoutMs: 120_000,
    });
    expect(again.exitCode, again.stderr).toBe(0);
  });

  // A NUL byte can never reach a command: validate refuses it wherever it is written, so apply
  // exits 2 before locking anything instead of waiting for ever (bounded by the CLI timeout).
  it('a NUL byte in a host var or an env value no command uses: validate and apply exit 2 with its place', {
    timeout: 80_000,
  }, async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts:
  web1: { vars: { unused: "a\\0b" } }
ops:
  hello:
    run: echo hello
    env: { UNUSED: "x\\0" }
`,
    });
    for (const command of [['validate'], ['apply', 'hello']]) {
      const result = await runCli(dir, command, { timeoutMs: 30_000 });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toContain(
        'fleet.yaml:3:27: hosts.web1.vars.unused: value contains a NUL byte (\\0), which no command or environment variable can carry (remove the NUL byte)',
      );
      expect(result.stderr).toContain('fleet.yaml:7:20: ops.hello.env.UNUSED: value contains a NUL byte');
    }
  });
});

/** Local host `a`: `change` touches a file, then `big` (its keys after `run:`, as given). */
const changeThenBig = (dir: string, big: string) =>
  `version: 1
hosts:
  a: {}
ops:
  change:
    run: touch ${JSON.stringify(`${dir}/changed`)}
  big:
    run: ${big}pipelines:
  p: { ops: [change, big] }
`;

describe('a local command longer than one argument may be (CORE-001)', () => {
  const LIMIT = 128 * 1024;
  /** `: xxx…; echo big-ran` whose shell script (`sh -c` gets it whole) is `bytes` long with its NUL. */
  const bigCommand = (bytes: number) => {
    const fixed = Buffer.byteLength(localScript(': ; echo big-ran')) + 1;
    return `: ${'x'.repeat(bytes - fixed)}; echo big-ran`;
  };
  const localFleet = (dir: string, command: string) => changeThenBig(dir, `${JSON.stringify(command)}\n`);

  it('is refused when the plan is built: exit 2, the op, the host and the size, and nothing runs', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), localFleet(dir, bigCommand(LIMIT + 1)));
    const expected = `nixfleet: op \`big\` on \`a\`: its \`run\` makes a shell script of ${LIMIT + 1} bytes, more than the ${LIMIT} (128 KiB) Linux lets one argument be, so the shell could not start it; nothing was run\n  hint: put the long part in a script and run that from \`big\`, or shorten the command`;
    for (const args of [
      ['plan', 'p'],
      ['apply', 'p'],
    ]) {
      const result = await runCli(dir, args);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toBe(expected);
    }
    // Before, `change` ran first and `big` failed with E2BIG once the run reached it.
    expect(existsSync(join(dir, 'changed'))).toBe(false);
    expect(JSON.parse((await runCli(dir, ['runs', '--json'])).stdout)).toEqual([]);
  });

  it('one of exactly the limit runs', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), localFleet(dir, bigCommand(LIMIT)));
    const result = await runCli(dir, ['apply', 'p', '--renderer', 'plain']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect((await runCli(dir, ['logs', 'r1', '--host', 'a'])).stdout).toContain('big-ran');
  });
});

describe('an armed rollback longer than one argument once armed (CORE-009, CORE-001)', () => {
  const LIMIT = 128 * 1024;
  // `big` runs after `change`; its rollback is armed, so it reaches the host inside the timer's
  // script, quoted, as the op's first command.
  const armedFleet = (dir: string, rollback: string, armed: boolean) =>
    changeThenBig(
      dir,
      `touch ${JSON.stringify(`${dir}/big-ran`)}
    rollback:
      run: ${JSON.stringify(rollback)}
${armed ? '      armed: 30s\n' : ''}`,
    );
  // About 56 KB as written; each `'` is four bytes once quoted, so over 140 KB armed.
  const QUOTED_ROLLBACK = `echo ${"'x' ".repeat(14_000)}`;
  const REFUSAL =
    /^nixfleet: op `big` on `a`: its armed `rollback`, quoted inside the script that arms the host's timer, makes a shell script of (\d+) bytes, more than the 131072 \(128 KiB\) Linux lets one argument be, so the shell could not start it; nothing was run\n {2}hint: put the long part of the rollback in a script and run that from `big`'s rollback, or shorten the rollback \(armed, it travels quoted in the timer's script\)$/;

  it('is refused when the plan is built, though the rollback alone fits: exit 2, the op, the host, the size, the fix', async () => {
    const rollback = QUOTED_ROLLBACK;
    expect(Buffer.byteLength(localScript(rollback)) + 1).toBeLessThan(LIMIT / 2);
    const dir = makeTempDir({ 'home/.keep': '' });
    const env = { HOME: join(dir, 'home') };
    // Not armed, nixfleet runs it as it is: it fits.
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, rollback, false));
    const plain = await runCli(dir, ['plan', 'p'], { env });
    expect(plain.exitCode, plain.stderr).toBe(0);

    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, rollback, true));
    for (const args of [
      ['plan', 'p'],
      ['apply', 'p'],
    ]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr).toMatch(REFUSAL);
      expect(Number(REFUSAL.exec(result.stderr)?.[1])).toBeGreaterThan(LIMIT);
    }
    // Before, plan passed, `change` ran, and arming `big`'s timer failed with E2BIG.
    expect(existsSync(join(dir, 'changed'))).toBe(false);
    expect(existsSync(join(dir, 'big-ran'))).toBe(false);
    expect(JSON.parse((await runCli(dir, ['runs', '--json'])).stdout)).toEqual([]);
  });

  // CORE-009: with --no-rollback no rollback is sent and no timer armed, so none is measured.
  it('plan --no-rollback accepts it and says rollbacks are off (text and --json)', async () => {
    const dir = makeTempDir({ 'home/.keep': '' });
    const env = { HOME: join(dir, 'home') };
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, QUOTED_ROLLBACK, true));

    const text = await runCli(dir, ['plan', 'p', '--no-rollback'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toContain(
      '\nrollbacks off (--no-rollback): no failed op is rolled back, no rollback timer is armed\n',
    );
    expect(text.stdout).toContain('stage 2/2  big (timeout 10m, rollback off)\n');
    expect(text.stdout).not.toContain('rollback  $');
    expect(text.stdout).toContain('nothing was run; `nixfleet apply p --no-rollback` runs it');
    // With rollbacks on, the same plan shows the rollback and its timer.
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, 'echo undone', true));
    const on = await runCli(dir, ['plan', 'p'], { env });
    expect(on.stdout).toContain('stage 2/2  big (timeout 10m, rollback timeout 10m, armed 30s)\n');
    expect(on.stdout).not.toContain('rollbacks off');

    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, QUOTED_ROLLBACK, true));
    const json = await runCli(dir, ['--json', 'plan', 'p', '--no-rollback'], { env });
    expect(json.exitCode, json.stderr).toBe(0);
    const plan = JSON.parse(json.stdout) as {
      rollbacks: boolean;
      stages: { op: string; rollback: unknown; commands: Record<string, unknown>[] }[];
    };
    expect(plan.rollbacks).toBe(false);
    expect(plan.stages[1]!.op).toBe('big');
    expect(plan.stages[1]!.rollback).toBeNull();
    expect(plan.stages[1]!.commands[0]).not.toHaveProperty('rollback');
    // Without the flag the JSON keeps its fields and says rollbacks are on.
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, 'echo undone', true));
    const jsonOn = JSON.parse((await runCli(dir, ['--json', 'plan', 'p'], { env })).stdout) as typeof plan;
    expect(jsonOn.rollbacks).toBe(true);
    expect(jsonOn.stages[1]!.rollback).toEqual({ timeoutMs: 600_000, armedMs: 30_000 });
    expect(jsonOn.stages[1]!.commands[0]!.rollback).toBe('echo undone');
  });

  it('apply --no-rollback runs the pipeline, arming no timer', async () => {
    const dir = makeTempDir({ 'home/.keep': '' });
    const env = { HOME: join(dir, 'home') };
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, QUOTED_ROLLBACK, true));
    const result = await runCli(dir, ['apply', 'p', '--no-rollback', '--renderer', 'plain'], { env });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(existsSync(join(dir, 'changed'))).toBe(true);
    expect(existsSync(join(dir, 'big-ran'))).toBe(true);
    expect(existsSync(join(dir, 'home/.nixfleet'))).toBe(false);
  });

  it('retry --no-rollback reruns it; retry with rollbacks is refused', async () => {
    const dir = makeTempDir({ 'home/.keep': '' });
    const env = { HOME: join(dir, 'home') };
    // `big` fails until `go` exists.
    const run = JSON.stringify(`test -f ${JSON.stringify(`${dir}/go`)} && touch ${JSON.stringify(`${dir}/big-ran`)}`);
    writeFileSync(
      join(dir, 'fleet.yaml'),
      changeThenBig(
        dir,
        `${run}\n    retryable: true\n    rollback:\n      run: ${JSON.stringify(QUOTED_ROLLBACK)}\n      armed: 30s\n`,
      ),
    );
    const first = await runCli(dir, ['apply', 'p', '--no-rollback', '--renderer', 'plain'], { env });
    expect(first.exitCode, first.stdout + first.stderr).toBe(1);
    writeFileSync(join(dir, 'go'), '');
    const refused = await runCli(dir, ['retry', 'r1'], { env });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr).toMatch(REFUSAL);
    const retried = await runCli(dir, ['retry', 'r1', '--no-rollback', '--renderer', 'plain'], { env });
    expect(retried.exitCode, retried.stdout + retried.stderr).toBe(0);
    expect(existsSync(join(dir, 'big-ran'))).toBe(true);
    expect(existsSync(join(dir, 'home/.nixfleet'))).toBe(false);
  });

  it('watch --run --no-rollback runs it', async () => {
    const dir = makeTempDir({ 'home/.keep': '' });
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, QUOTED_ROLLBACK, true));
    const proc = spawnCli(dir, ['watch', '--run', 'p', '--no-rollback'], {
      env: { HOME: join(dir, 'home') },
      timeoutMs: 60_000,
    });
    let stdout = '';
    proc.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    try {
      await waitFor('the run to end', () => /^run r1 (COMPLETE|FAILED|PARTIAL)|nothing was run/m.test(stdout), 30_000);
    } finally {
      proc.kill('SIGINT');
      await proc;
    }
    expect(stdout).toMatch(/^run r1 COMPLETE/m);
    expect(existsSync(join(dir, 'big-ran'))).toBe(true);
  });

  it('one at the limit as measured arms its timer and runs; one byte more is refused', async () => {
    const dir = makeTempDir({ 'home/.keep': '' });
    const env = { HOME: join(dir, 'home') };
    const padded = (bytes: number) => `: ${'x'.repeat(bytes)}; echo undone`;
    // The refusal says how long the armed line is: the padding that makes it exactly the limit.
    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, padded(LIMIT), true));
    const probe = await runCli(dir, ['plan', 'p'], { env });
    const bytes = Number(REFUSAL.exec(probe.stderr)?.[1]);
    expect(bytes, probe.stderr).toBeGreaterThan(LIMIT);
    const padding = LIMIT - (bytes - LIMIT);

    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, padded(padding + 1), true));
    const over = await runCli(dir, ['apply', 'p'], { env });
    expect(over.exitCode, over.stderr).toBe(2);
    expect(over.stderr).toContain(`makes a shell script of ${LIMIT + 1} bytes`);

    writeFileSync(join(dir, 'fleet.yaml'), armedFleet(dir, padded(padding), true));
    const at = await runCli(dir, ['apply', 'p', '--renderer', 'plain'], { env });
    expect(at.exitCode, at.stdout + at.stderr).toBe(0);
    expect(existsSync(join(dir, 'big-ran'))).toBe(true);
    expect(existsSync(join(dir, 'home/.nixfleet/armed'))).toBe(true);
  });
});
