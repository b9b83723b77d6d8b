// Report files of `apply` (see CORE-002, reports): a --junit path that cannot be written is refused
// before anything runs (exit 2), and one that fails to write after the run never hides the run's
// outcome. The real CLI in a temp directory.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

const FLEET = `version: 1
hosts:
  a: {}
ops:
  touch:
    run: touch ran
  drop-reports:
    run: rm -rf reports
`;

describe('--junit', () => {
  it('a path that cannot be written is refused before the run starts (exit 2)', { timeout: 120_000 }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET, 'a-file': 'x' });
    mkdirSync(join(cwd, 'a-dir'));
    const cases: [string, RegExp][] = [
      [
        'missing/report.xml',
        /^nixfleet: --junit missing\/report\.xml: the directory .*\/missing does not exist\n {2}hint: /,
      ],
      ['a-dir', /^nixfleet: --junit a-dir: .*\/a-dir is a directory\n {2}hint: /],
      ['a-file/report.xml', /^nixfleet: --junit a-file\/report\.xml: .*\/a-file is not a directory\n {2}hint: /],
    ];
    for (const [path, message] of cases) {
      const result = await runCli(cwd, ['apply', 'touch', '--junit', path, '--json']);
      expect(result.stderr).toMatch(message);
      expect(result.exitCode).toBe(2);
      expect(result.stdout).toBe('');
    }
    // Nothing ran and nothing was journaled.
    expect(existsSync(join(cwd, 'ran'))).toBe(false);
    expect(existsSync(join(cwd, '.nixfleet'))).toBe(false);
  });

  it('a report that fails to write after the run still shows the outcome, and exits 1', {
    timeout: 60_000,
  }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    mkdirSync(join(cwd, 'reports'));
    // The op itself removes the report's directory: the path was good when the run started.
    const result = await runCli(cwd, ['apply', 'drop-reports', '--junit', 'reports/junit.xml', '--json']);
    expect(result.stderr).not.toMatch(/internal error/);
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: 'r1', status: 'COMPLETE' });
    expect(result.stderr).toMatch(/^nixfleet: the JUnit report was not written to .*\/reports\/junit\.xml: ENOENT/m);
    expect(result.exitCode).toBe(1);
  });
});

describe('flags that would lose or overwrite something', () => {
  it('are refused with exit 2 and nothing run: a report over the fleet or its journal, repeated values, --json with a renderer', {
    timeout: 120_000,
  }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    const first = await runCli(cwd, ['apply', 'touch']);
    expect(first.exitCode, first.stderr).toBe(0);
    const cases: [string[], RegExp][] = [
      [['apply', 'touch', '--junit', 'fleet.yaml'], /--junit fleet\.yaml: .*\/fleet\.yaml is a file of the fleet/],
      [
        ['apply', 'touch', '--junit', '.nixfleet/nixfleet.db'],
        /is in the data directory .*\.nixfleet, which holds the journal/,
      ],
      [['retry', 'r1', '--junit', './fleet.yaml'], /is a file of the fleet/],
      [
        ['apply', 'touch', '--on', 'a', '--on', 'b'],
        /^nixfleet: apply: --on given 2 times \(`a`, `b`\)\n {2}hint: give it once/,
      ],
      [
        ['apply', 'touch', '--json', '--renderer', 'plain'],
        /--json prints the JSON report on stdout, so it cannot go with --renderer plain/,
      ],
      [['apply', 'touch', '--color', '--no-color'], /--color and --no-color contradict each other/],
      [['runs', '--limit', '99999999999999999999'], /--limit must be a whole number of at least 1/],
      [
        ['apply', 'touch', '--concurrency', '99999999999999999999'],
        /--concurrency must be a whole number of at least 1/,
      ],
    ];
    for (const [args, message] of cases) {
      const result = await runCli(cwd, args);
      expect(result.stderr, args.join(' ')).toMatch(message);
      expect(result.stderr).not.toMatch(/\n\s+at /);
      expect(result.exitCode, args.join(' ')).toBe(2);
    }
    expect(readFileSync(join(cwd, 'fleet.yaml'), 'utf8')).toBe(FLEET);
    const runs = await runCli(cwd, ['runs', '--json']);
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toEqual(['r1']);
  });
});
