// The broken-fleet corpus (CORE-005, errors): every fixture under test/fixtures/broken names, in
// its first line, the error `nixfleet validate` must report: `# expect: FILE:LINE:COL: PATH: MESSAGE`.
// It must exit 2, print that error at exactly that position, and never a stack trace.
// Every fixture goes through the CLI's real dispatcher in-process; a representative few also
// through the real bin/nixfleet.js in a child process.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import { runInProcess } from '../config/support/in-process-cli.js';
import { type CliResult, ROOT, runCli } from '../support/cli.js';

const CORPUS = join(ROOT, 'test/fixtures/broken');
const fixtures = globSync(['*.yaml', '*/fleet.yaml'], { cwd: CORPUS }).sort();
// A child node process can take many seconds to start on a busy 2-core machine.
const SPAWN_TIMEOUT = 120_000;
const SPAWNED = [
  'yaml-syntax.yaml',
  'bad-duration.yaml',
  'unknown-op-in-pipeline.yaml',
  'settings-in-include/fleet.yaml',
];

function expectationOf(fixture: string): string {
  const first = readFileSync(join(CORPUS, fixture), 'utf8').split('\n')[0] ?? '';
  const match = /^# expect: (.+)$/.exec(first);
  if (!match?.[1]) throw new Error(`${fixture} has no "# expect:" first line`);
  return match[1];
}

function expectReported(result: CliResult, expected: string): void {
  expect(result.exitCode).toBe(2);
  expect(result.stdout).toBe('');
  const lines = result.stderr.split('\n');
  expect(
    lines.some((line) => line.startsWith(expected)),
    `expected a line starting with\n  ${expected}\nstderr:\n${result.stderr}`,
  ).toBe(true);
  expect(result.stderr).toMatch(/\d+ error\(s\) in the fleet file; nothing was run/);
  expect(result.stderr).not.toMatch(/^\s+at /m);
  expect(result.stderr).not.toContain('internal error');
}

describe('a broken fleet file is reported at its exact position, with exit 2 and no stack trace', () => {
  it('the corpus has at least 30 fixtures, each with an expectation', () => {
    expect(fixtures.length).toBeGreaterThanOrEqual(30);
    for (const fixture of fixtures) expect(expectationOf(fixture)).toMatch(/^[\w./-]+:\d+:\d+: /);
  });

  it.each(fixtures)('%s', async (fixture) => {
    expectReported(await runInProcess(CORPUS, ['validate', '-f', fixture]), expectationOf(fixture));
  });

  it.concurrent.each(SPAWNED)(
    '%s, through bin/nixfleet.js',
    async (fixture) => {
      expectReported(await runCli(CORPUS, ['validate', '-f', fixture]), expectationOf(fixture));
    },
    SPAWN_TIMEOUT,
  );

  it(
    'validate --json lists every error with file, line, column, path and message on stdout',
    async () => {
      const result = await runCli(CORPUS, ['validate', '--json', '-f', 'unknown-op-in-pipeline.yaml']);
      expect(result.exitCode).toBe(2);
      expect(result.stderr).toBe('');
      expect(JSON.parse(result.stdout)).toEqual({
        valid: false,
        errors: [
          {
            file: 'unknown-op-in-pipeline.yaml',
            line: 10,
            column: 17,
            path: 'pipelines.do-all.ops[1]',
            message: 'unknown op `swtch` in pipeline `do-all`',
            hint: 'did you mean `switch`?',
          },
        ],
      });
    },
    SPAWN_TIMEOUT,
  );
});
