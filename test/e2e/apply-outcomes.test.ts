// `nixfleet apply` end to end: outcomes, exit codes and every renderer, through the real CLI.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { parseXml } from '../ui/support/xml-well-formed.js';

// Real CLI processes on a shared two-core machine: generous bounds, every wait still bounded.
vi.setConfig({ testTimeout: 120_000 });

// web2 fails `check` (so it is SKIPPED for `finish`), db1 fails `check` too.
const FLEET = `version: 1
settings: { concurrency: 4, defaultPipeline: all }
hosts:
  web1: { vars: { health: ok } }
  web2: { vars: { health: bad } }
  db1: { vars: { health: bad } }
ops:
  hello:
    run: printf '\\033[31mhello\\033[0m from %s\\n' "$NIXFLEET_HOST"
  check:
    run: echo "health <"{{ host.vars.health }}"> & more"; test {{ host.vars.health }} = ok
  finish:
    run: echo done
  fail:
    run: exit 5
pipelines:
  all: { ops: [hello, check, finish] }
  healthy: { ops: [hello, finish], hosts: web1 }
`;

let dir: string;
beforeAll(() => {
  dir = makeTempDir({ 'fleet.yaml': FLEET });
});

describe('apply outcomes', () => {
  it('every host finishing every stage is COMPLETE, exit 0', async () => {
    const result = await runCli(dir, ['apply', 'healthy']);
    expect(result.stderr).toBe('');
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(result.stdout).toMatch(/^run r\d+ COMPLETE: 1\/1 host\(s\) completed/m);
  });

  it('some hosts failing is PARTIAL, exit 1; the failed hosts are SKIPPED later', async () => {
    const result = await runCli(dir, ['apply']);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(result.stdout).toContain('[web2] check ERROR');
    expect(result.stdout).toContain('[web2] finish SKIPPED (check ERROR: exit code');
    expect(result.stdout).toContain('[web1] finish SUCCESS');
    expect(result.stdout).toMatch(/^run r\d+ PARTIAL: 1\/3 host\(s\) completed/m);
  });

  it('no host finishing is FAILED, exit 1', async () => {
    const result = await runCli(dir, ['apply', 'fail']);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(result.stdout).toMatch(/^\[db1\] fail ERROR \(\d+\.\ds\): exit code 5$/m);
    expect(result.stdout).toMatch(/^run r\d+ FAILED: 0\/3/m);
  });

  it('plain output has one line per finished command and no escape codes, even from commands', async () => {
    const result = await runCli(dir, ['apply', 'all', '--renderer', 'plain', '--on', 'web2']);
    expect(result.stdout).not.toMatch(/\u001b/);
    expect(result.stdout).toContain('[web2] check ERROR');
    expect(result.stdout).toContain('[web2]   | health <bad> & more');
    const web2Lines = result.stdout.split('\n').filter((l) => l.startsWith('[web2] hello'));
    expect(web2Lines.map((l) => l.split(' ')[2])).toEqual(['SUCCESS']);
    expect(result.stdout).not.toMatch(/VALIDATING|EXECUTING/);
  });

  it('--json prints only the final report on stdout', async () => {
    const result = await runCli(dir, ['apply', '--json']);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const report = JSON.parse(result.stdout);
    expect(report).toMatchObject({ target: 'all', status: 'PARTIAL' });
    expect(report.runId).toMatch(/^r\d+$/);
    expect(Object.keys(report.hosts)).toEqual(['web1', 'web2', 'db1']);
    expect(report.hosts.web2).toEqual([
      { op: 'hello', status: 'SUCCESS', exitCode: 0, durationMs: expect.any(Number), error: null, batch: 1 },
      { op: 'check', status: 'ERROR', exitCode: 1, durationMs: expect.any(Number), error: 'exit code 1', batch: 1 },
      // Why it did not run, as the plain output says it.
      {
        op: 'finish',
        status: 'SKIPPED',
        exitCode: null,
        durationMs: null,
        error: 'check ERROR: exit code 1',
        batch: 1,
      },
    ]);
    expect(result.stderr).toBe('');
  });

  it('--junit writes well-formed XML: one testsuite per stage, one testcase per host', async () => {
    const result = await runCli(dir, ['apply', '--junit', 'report.xml']);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
    const { root, problems } = parseXml(xml);
    expect(problems).toEqual([]);
    expect(root?.name).toBe('testsuites');
    const suites = root!.children;
    expect(suites.map((s) => s.attributes.name)).toEqual(['1. hello', '2. check', '3. finish']);
    expect(suites.map((s) => s.children.map((c) => c.attributes.name))).toEqual([
      ['web1', 'web2', 'db1'],
      ['web1', 'web2', 'db1'],
      ['web1', 'web2', 'db1'],
    ]);
    const check = suites[1]!;
    expect(check.attributes).toMatchObject({ tests: '3', failures: '2', skipped: '0' });
    const failure = check.children[1]!.children[0]!;
    expect(failure.name).toBe('failure');
    expect(failure.attributes.message).toBe('exit code 1');
    // Command output with <, > and & is escaped, and decodes back to what the command printed.
    expect(failure.text).toContain('health <bad> & more');
    expect(suites[2]!.children[1]!.children[0]!.name).toBe('skipped');
    expect(suites[2]!.attributes).toMatchObject({ tests: '3', failures: '0', skipped: '2' });
  });

  it('usage mistakes are exit 2 with a hint, before anything runs', async () => {
    const bad = await runCli(dir, ['apply', '--concurrency', '0']);
    expect(bad.exitCode, String(bad.stderr)).toBe(2);
    expect(bad.stderr).toContain('--concurrency must be a whole number');
    const renderer = await runCli(dir, ['apply', '--renderer', 'fancy']);
    expect(renderer.exitCode, String(renderer.stderr)).toBe(2);
    expect(renderer.stderr).toContain('unknown renderer `fancy`');
    const target = await runCli(dir, ['apply', 'nope']);
    expect(target.exitCode, String(target.stderr)).toBe(2);
    expect(target.stderr).not.toMatch(/\n\s+at /);
    // A host name nothing resembles gets where to look; it had no hint.
    const host = await runCli(dir, ['apply', '--on', 'zzzzzz']);
    expect(host.exitCode, String(host.stderr)).toBe(2);
    expect(host.stderr).toBe(
      'nixfleet: unknown host `zzzzzz`\n  hint: run `nixfleet list hosts` to see the names and tags',
    );
  });

  it('with --json a mistake is one error object on stdout, the same text on stderr (CORE-002)', async () => {
    const target = await runCli(dir, ['--json', 'apply', 'nope']);
    expect(target.exitCode, String(target.stderr)).toBe(2);
    expect(target.stderr).toBe(
      'nixfleet: unknown pipeline or op `nope`\n  hint: run `nixfleet list` to see the pipelines and ops',
    );
    // One line (the test's runner drops the line break at its end).
    expect(target.stdout.split('\n')).toHaveLength(1);
    expect(JSON.parse(target.stdout)).toEqual({
      error: {
        message: 'unknown pipeline or op `nope`',
        hint: 'run `nixfleet list` to see the pipelines and ops',
        exitCode: 2,
      },
    });
    // A flag mistake, found while the words are parsed.
    const flag = await runCli(dir, ['apply', '--concurency', '2', '--json']);
    expect(flag.exitCode, String(flag.stderr)).toBe(2);
    expect(JSON.parse(flag.stdout).error).toMatchObject({ message: 'apply: unknown flag `--concurency`', exitCode: 2 });
    // A broken fleet file: its errors as `validate --json` gives them.
    const broken = makeTempDir({
      'fleet.yaml': 'version: 1\nhosts: { a: {} }\nops: { x: { run: echo, timeout: soon } }\n',
    });
    const config = await runCli(broken, ['apply', 'x', '--json']);
    expect(config.exitCode, String(config.stderr)).toBe(2);
    const { error } = JSON.parse(config.stdout);
    expect(error).toMatchObject({ message: '1 error(s) in the fleet file; nothing was run', hint: null, exitCode: 2 });
    expect(error.errors).toEqual([expect.objectContaining({ file: 'fleet.yaml', line: 3, path: 'ops.x.timeout' })]);
    expect(config.stderr).toMatch(/^fleet\.yaml:3:\d+: ops\.x\.timeout: /);
    // Without --json stdout stays empty.
    expect((await runCli(dir, ['apply', 'nope'])).stdout).toBe('');
  });

  it('with --renderer json a mistake is the same error object on stdout, where the report was awaited (CORE-002)', async () => {
    // A broken fleet file: exit 2, its errors on stderr as before, and the object on stdout.
    const broken = makeTempDir({
      'fleet.yaml': 'version: 1\nhosts: { a: {} }\nops: { x: { run: echo, timeout: soon } }\n',
    });
    const config = await runCli(broken, ['apply', 'x', '--renderer', 'json']);
    expect(config.exitCode, String(config.stderr)).toBe(2);
    expect(config.stderr).toMatch(
      /^fleet\.yaml:3:\d+: ops\.x\.timeout: .*\n1 error\(s\) in the fleet file; nothing was run$/s,
    );
    expect(config.stdout.split('\n')).toHaveLength(1);
    const { error } = JSON.parse(config.stdout);
    expect(error).toMatchObject({ message: '1 error(s) in the fleet file; nothing was run', hint: null, exitCode: 2 });
    expect(error.errors).toEqual([expect.objectContaining({ file: 'fleet.yaml', line: 3, path: 'ops.x.timeout' })]);
    // A flag mistake, with `--renderer=json` written as one word.
    const flag = await runCli(dir, ['apply', 'healthy', '--renderer=json', '--concurency', '2']);
    expect(flag.exitCode, String(flag.stderr)).toBe(2);
    expect(flag.stderr).toContain('nixfleet: apply: unknown flag `--concurency`');
    expect(JSON.parse(flag.stdout).error).toMatchObject({ message: 'apply: unknown flag `--concurency`', exitCode: 2 });
    // An unknown target: the same object as with --json.
    const target = await runCli(dir, ['apply', 'nope', '--renderer', 'json']);
    expect(target.exitCode, String(target.stderr)).toBe(2);
    expect(JSON.parse(target.stdout)).toEqual({
      error: {
        message: 'unknown pipeline or op `nope`',
        hint: 'run `nixfleet list` to see the pipelines and ops',
        exitCode: 2,
      },
    });
    // Another renderer keeps stdout free of it; words after `--` are not flags.
    expect((await runCli(dir, ['apply', 'nope', '--renderer', 'plain'])).stdout).toBe('');
    expect((await runCli(dir, ['apply', 'nope', '--', '--renderer', 'json'])).stdout).toBe('');
  });
});
