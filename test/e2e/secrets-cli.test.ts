// CORE-010 end to end with the real CLI on local hosts: secrets from the environment, a file and
// a command reach the commands that use them, and their values appear nowhere nixfleet writes or
// prints: not in the data directory (SQLite, WAL, output files), the terminal, --json or JUnit.
// Bad secrets stop the run before anything is journaled (exit 2).
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { processesMatching } from '../support/processes.js';
import { filesUnder, KEY, leaks, secretFleet, secretFleetDir, sha256, TOKEN } from './support/secret-fleet.js';

const HOSTS = '  h1: {}\n  h2: {}';
const ENV = { NF_TEST_TOKEN: TOKEN };

async function runsOf(dir: string): Promise<unknown[]> {
  const runs = await runCli(dir, ['runs', '--json']);
  return JSON.parse(runs.stdout) as unknown[];
}

describe('secrets reach the commands and nothing else', () => {
  it('prints them whole, split across writes, line by line and through env: all redacted everywhere', async () => {
    const dir = secretFleetDir(secretFleet(HOSTS));
    const plain = await runCli(dir, ['apply', '--renderer', 'plain', '--junit', 'plain.xml'], { env: ENV });
    expect(plain.exitCode, plain.stderr).toBe(0);
    const json = await runCli(dir, ['--json', 'apply', '--junit', 'report.xml'], { env: ENV });
    expect(json.exitCode, json.stderr).toBe(0);
    const failed = await runCli(dir, ['apply', 'fail', '--renderer', 'plain', '--junit', 'fail.xml'], { env: ENV });
    expect(failed.exitCode).toBe(1);
    const failedJson = await runCli(dir, ['--json', 'apply', 'fail'], { env: ENV });

    const logs = await runCli(dir, ['logs', 'r1']);
    // The commands got the real values: their hashes match.
    expect(logs.stdout).toContain(`sha=${sha256(TOKEN)}`);
    expect(logs.stdout).toContain(`keysha=${sha256(KEY)}`);
    // Whole, on stderr too, split across two writes on each pipe, each line and through env.
    expect(logs.stdout).toMatch(/==> c1 \[h1\] whole SUCCESS <==\ntoken=\*\*\*\n\*\*\*sha=/);
    expect(logs.stdout).toMatch(/==> c3 \[h1\] split SUCCESS <==\n\*\*\*\n\*\*\*\n/);
    expect(logs.stdout).toContain('***\n***\nkeysha=');
    expect(logs.stdout).toContain(`Bearer *** on h1\ncmd=***\n`);

    const texts: Record<string, string> = {
      'apply stdout': plain.stdout,
      'apply stderr': plain.stderr,
      '--json stdout': json.stdout,
      '--json stderr': json.stderr,
      'failed apply': failed.stdout + failed.stderr,
      'failed --json': failedJson.stdout + failedJson.stderr,
      logs: logs.stdout,
      'logs r3': (await runCli(dir, ['logs', 'r3'])).stdout,
      'show r3': (await runCli(dir, ['--json', 'show', 'r3'])).stdout,
      runs: (await runCli(dir, ['--json', 'runs'])).stdout,
      plan: (await runCli(dir, ['--json', 'plan'])).stdout,
    };
    for (const report of ['plain.xml', 'report.xml', 'fail.xml'])
      texts[report] = readFileSync(join(dir, report), 'utf8');
    expect(texts['fail.xml']).toContain('failure');
    expect(texts['logs r3']).toContain('failing with ***');
    const dataFiles = filesUnder(join(dir, '.nixfleet'));
    expect(dataFiles.some((file) => file.endsWith('nixfleet.db'))).toBe(true);
    expect(dataFiles.some((file) => file.includes('/logs/'))).toBe(true);
    expect(leaks(texts, dataFiles)).toEqual([]);
  });

  it('hides the start of a value that a command printed when its timeout killed it', async () => {
    // CORE-010: the output ended inside the value; `supersecret-AB` stayed in the log, the journal
    // and the terminal.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  token: { env: NF_TEST_TOKEN }
hosts:
  h1: {}
ops:
  cut:
    run: printf 'leak=%s' "$(printf %s {{ secret.token }} | cut -c1-12)"; exec sleep 30
    timeout: 1s
`,
    });
    const env = { NF_TEST_TOKEN: 'supersecret-ABC' };
    const apply = await runCli(dir, ['apply', 'cut', '--renderer', 'plain'], { env });
    expect(apply.exitCode, apply.stderr).toBe(1);
    const logs = await runCli(dir, ['logs', 'r1']);
    expect(logs.stdout).toContain('leak=***');
    const texts = { apply: apply.stdout + apply.stderr, logs: logs.stdout };
    const files = filesUnder(join(dir, '.nixfleet'));
    for (const [where, text] of Object.entries(texts)) expect(text, where).not.toContain('supersecret');
    for (const file of files) expect(readFileSync(file).includes('supersecret'), file).toBe(false);
  });

  it('resolves only the secrets of the commands that run', async () => {
    const dir = secretFleetDir(secretFleet(HOSTS));
    chmodSync(join(dir, 'secrets/key.pem'), 0o644);
    // `whole` uses only the token; the too-open key file is never read.
    const result = await runCli(dir, ['apply', 'whole', '--renderer', 'plain'], { env: ENV });
    expect(result.exitCode, result.stderr).toBe(0);
  });
});

describe('a secret that cannot be read stops the run before it starts (exit 2)', () => {
  const cases: [string, (dir: string) => void, Record<string, string>, RegExp][] = [
    [
      'a missing environment variable',
      () => {},
      {},
      /^nixfleet: secret `token` \(env NF_TEST_TOKEN\): environment variable NF_TEST_TOKEN is not set$/m,
    ],
    [
      'a world-readable file',
      (dir) => chmodSync(join(dir, 'secrets/key.pem'), 0o644),
      ENV,
      /secret `key` \(file \S+key\.pem\): is accessible by group or others \(mode 0644\)[\s\S]*chmod 600 \S+key\.pem/,
    ],
    [
      'a missing file',
      (dir) => writeFileSync(join(dir, 'fleet.yaml'), secretFleet(HOSTS).replace('secrets/key.pem', 'secrets/nope')),
      ENV,
      /secret `key` \(file \S+nope\): no such file/,
    ],
    [
      'a directory in place of the file',
      (dir) => writeFileSync(join(dir, 'fleet.yaml'), secretFleet(HOSTS).replace('secrets/key.pem', 'secrets')),
      ENV,
      // One sentence and a hint that fits: it said `cannot be read (secret ... : is not a regular file)`, `create it`.
      /^nixfleet: secret `key` \(file \S+\/secrets\): is a directory\n {2}hint: point `secrets\.key\.file` at the file that holds the value$/,
    ],
    [
      'a failing command',
      (dir) =>
        writeFileSync(
          join(dir, 'fleet.yaml'),
          secretFleet(HOSTS).replace('"cat secrets/cmd-value.txt"', `"echo 'vault: permission denied' >&2; exit 7"`),
        ),
      ENV,
      /secret `fromcmd` \(command `echo 'vault: permission denied' >&2; exit 7`\): failed with exit code 7: vault: permission denied/,
    ],
    [
      'a value too large for an environment variable',
      (dir) => writeFileSync(join(dir, 'secrets/key.pem'), 'x'.repeat(140_000)),
      ENV,
      /secret `key` \(file \S+key\.pem\): the value is 140000 bytes; an environment variable holds at most 130816 \(Linux\)/,
    ],
    [
      // Each value fits an environment variable; the one holding both does not. Before, the run
      // started and every command of the op failed with E2BIG.
      'a variable holding two values too large together',
      (dir) => {
        writeFileSync(join(dir, 'secrets/key.pem'), 'x'.repeat(70_000));
        writeFileSync(
          join(dir, 'fleet.yaml'),
          secretFleet(HOSTS).replace(
            'AUTH: "Bearer {{ secret.fromcmd }} on',
            'AUTH: "{{ secret.key }}{{ secret.key }} on',
          ),
        );
      },
      ENV,
      /^nixfleet: op `viaenv` on `h1`: its variable `AUTH`, with the secrets in it, is 1400\d\d bytes; Linux holds one environment variable to 131072 \(128 KiB\), so its command would fail to start\n {2}hint: /m,
    ],
    [
      'a value too short to redact',
      () => {},
      { NF_TEST_TOKEN: 'abc' },
      /secret `token` \(env NF_TEST_TOKEN\): the value is 3 character\(s\) long; values shorter than 6 cannot be redacted/,
    ],
  ];

  it.each(cases)('%s', async (_name, spoil, env, message) => {
    const dir = secretFleetDir(secretFleet(HOSTS));
    spoil(dir);
    const result = await runCli(dir, ['apply', '--renderer', 'plain'], { env });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect(result.stdout).not.toContain('run r1');
    expect(await runsOf(dir)).toEqual([]);
    // Nothing ran: no output file was ever written.
    expect(existsSync(join(dir, '.nixfleet/logs')) && filesUnder(join(dir, '.nixfleet/logs')).length > 0).toBe(false);
  });
});

describe('validate and plan never resolve secrets', () => {
  it('pass with the variable unset, the file too open and the command failing', async () => {
    const dir = secretFleetDir(secretFleet(HOSTS).replace('"cat secrets/cmd-value.txt"', '"exit 7"'));
    chmodSync(join(dir, 'secrets/key.pem'), 0o644);
    const validate = await runCli(dir, ['validate']);
    expect(validate.exitCode, validate.stderr).toBe(0);
    const plan = await runCli(dir, ['plan']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`printf 'token=%s\\n' "$NIXFLEET_SECRET_token"`);
    const planJson = await runCli(dir, ['--json', 'plan']);
    const viaenv = (JSON.parse(planJson.stdout) as { stages: { commands: unknown[] }[] }).stages[3]!.commands[0];
    expect(viaenv).toMatchObject({
      secrets: ['fromcmd'],
      secretEnv: { AUTH: ['Bearer ', { secret: 'fromcmd' }, ' on h1'] },
    });
    expect(existsSync(join(dir, 'secrets/cmd-value.txt'))).toBe(true);
    expect(leaks({ plan: plan.stdout + planJson.stdout, validate: validate.stdout })).toEqual([]);
  });

  it.each([
    ['{{ secret.tokn }}', /ops\.whole\.run: unknown secret `tokn` \(did you mean `token`\?\)/],
    ['{{ secret.tok-en }}', /unknown template name `secret\.tok-en`/],
  ])('refuses %s with its position', async (placeholder, message) => {
    const dir = secretFleetDir(
      secretFleet(HOSTS).replace("printf 'token=%s\\n' {{ secret.token }}", `echo ${placeholder}`),
    );
    const result = await runCli(dir, ['validate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^fleet\.yaml:\d+:\d+: /m);
    expect(result.stderr).toMatch(message);
  });

  it('refuses a secret with no or two sources, a bad name, a secret in cwd and `secrets` in an include', async () => {
    const fleet = secretFleet(HOSTS)
      .replace('fromcmd: { command:', 'fromcmd: { env: X, command:')
      .replace('  token: {', '  empty: {}\n  9lives: { env: Y }\n  token: {')
      .replace('  fail:\n', '  fail:\n    cwd: "/tmp/{{ secret.token }}"\n');
    const dir = secretFleetDir(`${fleet}include: [more.yaml]\n`);
    writeFileSync(join(dir, 'more.yaml'), 'secrets:\n  other: { env: Z }\n');
    const result = await runCli(dir, ['validate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain(
      '`9lives` is not a valid secret name (use letters, digits and `_`, starting with a letter)',
    );
    expect(result.stderr).toMatch(/more\.yaml:1:1: secrets: `secrets` is only allowed in the main fleet file/);
    writeFileSync(join(dir, 'more.yaml'), 'hosts: {}\n');
    writeFileSync(join(dir, 'fleet.yaml'), `${fleet.replace('  9lives: { env: Y }\n', '')}include: [more.yaml]\n`);
    const semantic = await runCli(dir, ['validate']);
    expect(semantic.exitCode).toBe(2);
    expect(semantic.stderr).toMatch(/secrets\.empty: secret `empty` names no source/);
    expect(semantic.stderr).toMatch(/secrets\.fromcmd\.command: secret `fromcmd` names 2 sources \(`env`, `command`\)/);
    expect(semantic.stderr).toMatch(/ops\.fail\.cwd: `secret\.token` cannot be used in `cwd`/);
  });
});

describe('the value is handed over privately', () => {
  it('is in the child environment, not on its command line', async () => {
    const fleet = secretFleet(
      HOSTS,
      `  peek:\n    run: tr '\\\\000' ' ' < /proc/$$/cmdline; echo; printf '%s' {{ secret.token }} | wc -c\n`,
    );
    const dir = secretFleetDir(fleet);
    const result = await runCli(dir, ['apply', 'peek', '--on', 'h1', '--renderer', 'plain'], { env: ENV });
    expect(result.exitCode, result.stderr).toBe(0);
    const logs = (await runCli(dir, ['logs', 'r1'])).stdout;
    expect(logs).toContain('"$NIXFLEET_SECRET_token"');
    // The command saw the whole value through its environment.
    expect(logs).toMatch(new RegExp(`\\n\\s*${TOKEN.length}\\s*$`));
  });

  // CORE-005: nixfleet's own variables win over an op's `env:` entry of the same name, also when
  // that entry uses a secret (it was handed over privately, after them, and won).
  it("does not replace nixfleet's own variables", async () => {
    const names = ['NIXFLEET_HOST', 'NIXFLEET_OP', 'NIXFLEET_RUN_ID', 'NIXFLEET_COMMAND_ID', 'NIXFLEET_PROCESS_TAG'];
    const env = names.map((name) => `${name}: "x{{ secret.token }}"`).join(', ');
    const print = names.map((name) => `"${name}=$${name}"`).join(' ');
    const fleet = secretFleet(HOSTS, `  own:\n    run: printf '%s\\n' ${print}\n    env: { ${env} }\n`);
    const dir = secretFleetDir(fleet);
    const result = await runCli(dir, ['apply', 'own', '--on', 'h1', '--renderer', 'plain'], { env: ENV });
    expect(result.exitCode, result.stderr).toBe(0);
    const logs = (await runCli(dir, ['logs', 'r1'])).stdout;
    expect(logs).toContain('NIXFLEET_HOST=h1\nNIXFLEET_OP=own\nNIXFLEET_RUN_ID=r1\nNIXFLEET_COMMAND_ID=c1\n');
    expect(logs).toMatch(/^NIXFLEET_PROCESS_TAG=[0-9a-f]+$/m);
    expect(logs).not.toContain('***');
  });
});

describe('a secret command is over when its shell is', () => {
  const mark = `${process.pid}.${Date.now() % 1000}`;
  afterEach(() => {
    for (const pid of processesMatching(mark)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone between the look and the kill.
      }
    }
  });

  it('what it left in the background is ended, and the value is taken at once', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  bg: { command: "sleep 301${mark} & echo secret-from-bg" }
hosts: { h1: {} }
ops:
  use:
    run: test "$S" = secret-from-bg
    env: { S: "{{ secret.bg }}" }
`,
    });
    // Its background child held the output open: the run waited out the 60 s limit and was refused.
    const result = await runCli(dir, ['apply', 'use']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(processesMatching(`sleep 301${mark}`)).toEqual([]);
  });

  it('nixfleet killed while a secret command runs takes the command with it', { timeout: 120_000 }, async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  slow: { command: "touch asked; sleep 302${mark}; echo never-read" }
hosts: { h1: {} }
ops:
  use:
    run: test -n "$S"
    env: { S: "{{ secret.slow }}" }
`,
    });
    const apply = spawnCli(dir, ['apply', 'use'], { timeoutMs: 120_000 });
    await waitForFile(join(dir, 'asked'));
    expect(processesMatching(`sleep 302${mark}`)).not.toEqual([]);
    apply.kill('SIGKILL');
    await apply.catch(() => undefined);
    // The lifeline holds its group and kills it at nixfleet's end (CORE-011).
    for (let i = 0; i < 1200 && processesMatching(`sleep 302${mark}`).length > 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(processesMatching(`sleep 302${mark}`)).toEqual([]);
  });
});
