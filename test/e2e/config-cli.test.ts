// CORE-005 for init, validate, list, schema and plan: the real bin/nixfleet.js in temp
// directories, asserting exit codes, stdout/stderr and JSON shapes as a user or script sees them.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

// Several CLI runs per test on a shared 2-core machine: allow for a slow start under load.
const SLOW = 120_000;

const FLEET = `version: 1
settings: { defaultPipeline: ship, dataDir: state }
hosts:
  web1: { tags: [web], vars: { greeting: "hi there" } }
  db1: { tags: [db], vars: { greeting: hello } }
ops:
  hello:
    description: Greet
    run: echo {{ host.vars.greeting }} from {{ host.name }}
  check:
    run: "true"
    timeout: 30s
    retryable: true
    retries: 1
pipelines:
  ship:
    description: Greet then check
    ops: [hello, check]
    hosts: "@web"
`;

describe('nixfleet init', () => {
  it(
    'writes a starter fleet that validates and plans, and refuses to overwrite it',
    async () => {
      const dir = makeTempDir();
      const created = await runCli(dir, ['init', 'site']);
      expect(created.exitCode).toBe(0);
      expect(created.stdout).toContain('wrote');
      const file = join(dir, 'site/fleet.yaml');
      const original = readFileSync(file, 'utf8');
      expect(original).toContain('# yaml-language-server: $schema=');
      expect((await runCli(join(dir, 'site'), ['validate'])).exitCode).toBe(0);
      expect((await runCli(join(dir, 'site'), ['plan'])).exitCode).toBe(0);
      const again = await runCli(dir, ['init', 'site']);
      expect(again.exitCode).toBe(2);
      expect(again.stderr).toContain('already exists; nothing was written');
      expect(readFileSync(file, 'utf8')).toBe(original);
    },
    SLOW,
  );

  it.runIf(process.platform === 'linux')(
    'under /proc, whose file system makes no directories: one line and exit 2, not a hang',
    async () => {
      // Node's recursive mkdir never returns for this path (CORE-003, errors); generous bound, no speed asserted.
      const result = await runCli(makeTempDir(), ['init', '/proc/nixfleet-nope/site'], { timeoutMs: 60_000 });
      expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        'nixfleet: cannot create the directory /proc/nixfleet-nope/site: its file system does not allow it',
        '  hint: pass a directory on a file system you can write to',
      ]);
      expect(existsSync('/proc/nixfleet-nope')).toBe(false);
      // An existing directory there that takes no files: the same, for the file.
      const proc = await runCli(makeTempDir(), ['init', '/proc/1'], { timeoutMs: 60_000 });
      expect(proc.exitCode, proc.stderr).toBe(2);
      expect(proc.stderr.trimEnd().split('\n')).toEqual([
        'nixfleet: cannot write /proc/1/fleet.yaml: its file system does not allow new files there',
        '  hint: pass a directory on a file system you can write to',
      ]);
    },
    SLOW,
  );

  it('given a file instead of a directory, says so, exit 2, and leaves the file alone', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\n' });
    const result = await runCli(dir, ['init', 'fleet.yaml']);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `nixfleet: ${join(dir, 'fleet.yaml')} is a file, not a directory`,
      '  hint: pass the directory to write fleet.yaml into (`nixfleet init` alone uses this one)',
    ]);
    expect(readFileSync(join(dir, 'fleet.yaml'), 'utf8')).toBe('version: 1\n');
  });

  it('given a new YAML file name, makes no directory of that name, exit 2; an existing directory so named is used', async () => {
    const dir = makeTempDir();
    const result = await runCli(dir, ['init', 'prod.yaml']);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      `nixfleet: ${join(dir, 'prod.yaml')} looks like a file name: init writes fleet.yaml into a directory`,
      '  hint: pass the directory to write fleet.yaml into (`nixfleet init` alone uses this one); rename the file afterwards if you like, and give it to the other commands with -f',
    ]);
    expect(readdirSync(dir)).toEqual([]);
    mkdirSync(join(dir, 'conf.d.yml'));
    const made = await runCli(dir, ['init', 'conf.d.yml']);
    expect(made.exitCode, made.stderr).toBe(0);
    expect(existsSync(join(dir, 'conf.d.yml', 'fleet.yaml'))).toBe(true);
  });
});

describe('nixfleet validate', () => {
  it(
    'reports a valid fleet on stdout with exit 0, and as JSON with --json',
    async () => {
      const dir = makeTempDir({ 'fleet.yaml': FLEET });
      const text = await runCli(dir, ['validate']);
      expect(text).toMatchObject({ exitCode: 0, stderr: '' });
      expect(text.stdout).toBe('fleet.yaml: valid (2 hosts, 2 ops, 1 pipeline)');
      const json = await runCli(dir, ['validate', '--json']);
      expect(JSON.parse(json.stdout)).toMatchObject({ valid: true, errors: [], hosts: 2, ops: 2, pipelines: 1 });
    },
    SLOW,
  );

  it(
    'finds the fleet file through -f, then $NIXFLEET_FILE, then ./fleet.yaml',
    async () => {
      const dir = makeTempDir({ 'conf/a.yaml': FLEET, 'conf/b.yaml': 'version: 1\nhosts: { x: {} }\n' });
      expect((await runCli(dir, ['validate'])).exitCode).toBe(2);
      expect((await runCli(dir, ['validate'], { env: { NIXFLEET_FILE: 'conf/b.yaml' } })).stdout).toContain('1 host,');
      const both = await runCli(dir, ['-f', 'conf/a.yaml', 'validate'], { env: { NIXFLEET_FILE: 'conf/b.yaml' } });
      expect(both.stdout).toBe('conf/a.yaml: valid (2 hosts, 2 ops, 1 pipeline)');
    },
    SLOW,
  );

  it(
    'refuses a host var one byte past what one environment variable holds; at the limit it runs',
    async () => {
      // NIXFLEET_VAR_BIG=value and its NUL: 128 KiB at most (Linux, MAX_ARG_STRLEN).
      const most = 128 * 1024 - 'NIXFLEET_VAR_BIG='.length - 1;
      const fleet = (bytes: number) =>
        `version: 1\nhosts:\n  web1: { vars: { big: ${'x'.repeat(bytes)} } }\nops:\n  size: { run: 'printf %s "$NIXFLEET_VAR_BIG" | wc -c' }\n`;
      const atLimit = makeTempDir({ 'fleet.yaml': fleet(most) });
      const applied = await runCli(atLimit, ['apply', 'size']);
      expect(applied.exitCode, applied.stderr).toBe(0);
      expect((await runCli(atLimit, ['logs', 'c1'])).stdout.trim()).toBe(String(most));
      const over = await runCli(makeTempDir({ 'fleet.yaml': fleet(most + 1) }), ['apply', 'size']);
      expect(over.exitCode).toBe(2);
      expect(over.stderr).toContain(
        `fleet.yaml:3:24: hosts.web1.vars.big: the value is ${most + 1} bytes; as \`NIXFLEET_VAR_BIG\` it can hold at most ${most}`,
      );
      expect(over.stderr).toContain('(keep a large value in a file on the host and pass its path as the var)');
    },
    SLOW,
  );

  it('takes a quoted number of seconds as a duration, as the hint says', async () => {
    const dir = makeTempDir({
      'fleet.yaml':
        'version: 1\nhosts: { h1: {} }\nops:\n  a: { run: "true", timeout: "10" }\n  b: { run: "true", timeout: "2.5" }\n',
    });
    const ops = await runCli(dir, ['list', 'ops']);
    expect(ops.exitCode, ops.stderr).toBe(0);
    expect(ops.stdout).toMatch(/^a +host +10s /m);
    expect(ops.stdout).toMatch(/^b +host +2500ms /m);
    const words = makeTempDir({
      'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  a: { run: "true", timeout: "10 s" }\n',
    });
    const refused = await runCli(words, ['validate']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(
      'fleet.yaml:4:30: ops.a.timeout: `10 s` is not a duration (use 500ms, 30s, 2m, 1h or a number of seconds)',
    );
  });

  it('a file nested too deeply to read is one line at a fixed place, with a hint', async () => {
    let block = 'version: 1\nx-deep:\n';
    for (let i = 1; i <= 2000; i++) block += `${' '.repeat(i)}a:\n`;
    for (const [text, where] of [
      [`version: 1\nhosts: ${'['.repeat(100_000)}\n`, 'fleet.yaml:2:107'],
      // A block mapping 2,000 deep overflowed the parser itself: `internal error` and a stack trace.
      [block, 'fleet.yaml:102:101'],
    ] as const) {
      const result = await runCli(makeTempDir({ 'fleet.yaml': text }), ['validate']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toBe(
        `${where}: invalid YAML: nested more than 100 levels deep (is it a fleet file? One nests a few levels: hosts, a host, its vars)\n1 error(s) in the fleet file; nothing was run`,
      );
    }
  });

  it('says where the missing fleet file was looked for, and how to make one', async () => {
    const result = await runCli(makeTempDir(), ['validate']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('fleet.yaml: fleet file not found (create one with `nixfleet init`');
  });
});

describe('nixfleet list', () => {
  it('prints hosts, ops and pipelines as tables', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['list']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('HOST  TRANSPORT  ADDRESS  TAGS\nweb1  local      web1     @web\n');
    expect(result.stdout).toMatch(/check\s+host\s+30s\s+yes \(1 auto\)/);
    expect(result.stdout).toMatch(/ship \(default\)\s+hello → check\s+@web\s+Greet then check/);
  });

  it('prints one kind as JSON with --json', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['list', 'ops', '--json']);
    const ops = JSON.parse(result.stdout) as { id: string; timeoutMs: number }[];
    expect(ops.map((op) => [op.id, op.timeoutMs])).toEqual([
      ['hello', 600_000],
      ['check', 30_000],
    ]);
  });

  it('rejects an unknown kind with a suggestion and exit 2', async () => {
    const result = await runCli(makeTempDir({ 'fleet.yaml': FLEET }), ['list', 'host']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toBe('nixfleet: cannot list `host`\n  hint: did you mean `hosts`?');
  });
});

describe('nixfleet schema', () => {
  it('prints the JSON Schema the fleet file is validated against', async () => {
    const result = await runCli(makeTempDir(), ['schema']);
    expect(result.exitCode).toBe(0);
    const schema = JSON.parse(result.stdout) as { $id: string; title: string };
    expect(schema.$id).toMatch(/fleet\.schema\.json$/);
    expect(schema.title).toBe('nixfleet fleet file');
  });
});

describe('nixfleet plan', () => {
  it('shows stages × hosts with shell-quoted commands and runs nothing', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['plan']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toContain('pipeline ship on 1 host(s) (selector @web): web1');
    expect(result.stdout).toContain("web1  $ echo 'hi there' from web1");
    expect(result.stdout).toContain('stage 2/2  check (timeout 30s, retryable, 1 automatic retry)');
    expect(existsSync(join(dir, 'state'))).toBe(false);
  });

  it('folds what many hosts run alike into one entry, and names a few of many hosts', async () => {
    const hosts = Array.from(
      { length: 12 },
      (_, i) => `  h${String(i).padStart(2, '0')}: { vars: { role: ${i === 4 ? 'db' : 'web'} } }`,
    );
    const fleet = `version: 1
hosts:
${hosts.join('\n')}
ops:
  pull: { run: 'git pull' }
  switch: { run: 'switch-to {{ host.vars.role }}' }
pipelines:
  deploy: { ops: [pull, switch] }
`;
    const result = await runCli(makeTempDir({ 'fleet.yaml': fleet }), ['plan', 'deploy', '--batch', '5']);
    expect(result.exitCode, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('pipeline deploy on 12 host(s) (selector *): h00, h01, h02 and 9 more');
    expect(lines).toContain('  batch 1/3    h00, h01, h02, h03, h04');
    expect(lines).toContain('  batch 3/3    h10, h11');
    const stage = (n: number) => lines.slice(lines.findIndex((l) => l.startsWith(`stage ${n}/2`)) + 1);
    // Twelve alike: one entry. Eleven web hosts alike and one db host: the db host keeps its place.
    expect(stage(1).slice(0, 3)).toEqual(['  12 hosts  $ git pull', '            (h00, h01, h02 and 9 more)', '']);
    expect(stage(2).slice(0, 4)).toEqual([
      '  11 hosts  $ switch-to web',
      '            (h00, h01, h02 and 8 more)',
      '  h04       $ switch-to db',
      '',
    ]);
  });

  it('plans a single op on --on hosts as JSON', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['plan', 'hello', '--on', '@db', '--json']);
    expect(result.exitCode).toBe(0);
    const plan = JSON.parse(result.stdout);
    expect(plan).toMatchObject({ target: 'hello', targetKind: 'op', selector: '@db', hosts: ['db1'] });
    expect(plan.stages[0].commands[0]).toMatchObject({ host: 'db1', run: 'echo hello from db1' });
    expect(plan.stages[0].commands[0].env).toMatchObject({ NIXFLEET_HOST: 'db1', NIXFLEET_VAR_GREETING: 'hello' });
  });

  it(
    'exits 2 with a hint for an unknown target or a selector that matches nothing',
    async () => {
      const dir = makeTempDir({ 'fleet.yaml': FLEET });
      const unknown = await runCli(dir, ['plan', 'shop']);
      expect(unknown.exitCode).toBe(2);
      expect(unknown.stderr).toBe('nixfleet: unknown pipeline or op `shop`\n  hint: did you mean `ship`?');
      const nothing = await runCli(dir, ['plan', '--on', '@web,!web1']);
      expect(nothing.exitCode).toBe(2);
      expect(nothing.stderr).toContain('selector `@web,!web1` matches no host');
    },
    SLOW,
  );
});
