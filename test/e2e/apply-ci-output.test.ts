// `apply` in CI (see CORE-002, CI output): plain lines, one per finished command, then the recap;
// under GitHub Actions, groups per stage, an error annotation per failed host and a job summary;
// and a JUnit report that the common junit-4 schema accepts (checked by xmllint, from Debian's
// libxml2-utils).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, ROOT, runCli, spawnCli } from '../support/cli.js';

const FLEET = `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {} }
ops:
  fetch:
    run: echo fetching
  build:
    run: 'if [ "$NIXFLEET_HOST" = h2 ]; then echo "compiler: out of memory"; exit 3; fi; echo built'
  check:
    run: "true"
pipelines:
  ship: { ops: [fetch, build, check] }
`;

describe('plain output in CI', { timeout: 120_000 }, () => {
  it('15 commands: one line each, no start lines for quick ones, then the recap', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['apply', 'ship']);
    expect(result.exitCode, result.stderr).toBe(1);
    const lines = result.stdout.trimEnd().split('\n');
    expect(result.stdout).not.toMatch(/VALIDATING|EXECUTING|running \(/);
    const commandLines = lines.filter((l) => /^\[h\d\] (fetch|build|check) /.test(l));
    expect(commandLines).toHaveLength(15);
    expect(lines).toContain(
      '[h2] build ERROR (' +
        /\((\d+\.\ds)\)/.exec(lines.find((l) => l.startsWith('[h2] build'))!)![1] +
        '): exit code 3',
    );
    expect(lines).toContain('[h2]   | compiler: out of memory');
    expect(lines).toContain('[h2] check SKIPPED (build ERROR: exit code 3)');
    // Each stage ends with its totals, after its last command.
    const totals = lines.filter((l) => /^stage \d\/3 \w+: /.test(l));
    expect(totals).toEqual([
      'stage 1/3 fetch: 5 ok, 0 failed',
      'stage 2/3 build: 4 ok, 1 failed',
      'stage 3/3 check: 4 ok, 0 failed, 1 skipped',
    ]);
    expect(lines.indexOf(totals[2]!)).toBe(lines.indexOf('RECAP r1 ship') - 1);
    const recap = lines.slice(lines.indexOf('RECAP r1 ship'));
    expect(recap[1]).toMatch(/^\s+h1\s+ok=3\s+failed=0\s+skipped=0$/);
    expect(recap.find((l) => /^\s+h2\s/.test(l))).toMatch(/ok=1\s+failed=1\s+skipped=1\s+build ERROR: exit code 3$/);
    expect(recap).toContain(
      'run r1 PARTIAL: 4/5 host(s) completed (' + /completed \((.*)\)/.exec(result.stdout)![1] + ')',
    );
    // `build` ran, failed and is not retryable: `retry r1` alone would be refused (CORE-002, hints).
    expect(recap.at(-1)).toMatch(
      /nixfleet retry r1 --force\s+rerun h2 from where it stopped; build is not marked retryable$/,
    );
    // Header, 3 stage lines, 15 command lines, the failure's output line, 3 totals, the recap (8 + 3).
    expect(lines.length).toBe(1 + 3 + 15 + 1 + 3 + 1 + 5 + 1 + 3);
  });

  it('a command still running after a few seconds gets one start line', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { h1: {} }
ops:
  slow:
    run: for i in $(seq 1 1200); do [ -e '${join(dir, 'gate')}' ] && break; sleep 0.1; done
`,
    );
    const proc = spawnCli(dir, ['apply', 'slow']);
    let out = '';
    proc.stdout?.on('data', (d) => {
      out += d;
    });
    for (let i = 0; i < 1200 && !/\[h1\] slow running \(\d+\.\ds so far\)/.test(out); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    writeFileSync(join(dir, 'gate'), '');
    const result = await proc;
    expect(result.exitCode).toBe(0);
    const text = String(result.stdout);
    expect(text.match(/\[h1\] slow running/g)).toHaveLength(1);
    expect(text).toMatch(/\[h1\] slow SUCCESS/);
  });

  it('a cancelled run counts its commands as cancelled, not skipped', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
settings: { concurrency: 1 }
hosts: { h1: {}, h2: {} }
ops:
  hang: { run: 'touch "started-$NIXFLEET_HOST"; sleep 60' }
  after: { run: 'true' }
pipelines:
  ship: { ops: [hang, after] }
`,
    });
    const proc = spawnCli(dir, ['apply', 'ship']);
    await waitForFile(join(dir, 'started-h1'));
    expect((await runCli(dir, ['cancel', 'r1', '--kill'])).exitCode).toBe(0);
    const result = await proc;
    expect(result.exitCode).toBe(130);
    const lines = String(result.stdout).split('\n');
    const recap = lines.slice(lines.indexOf('RECAP r1 ship'));
    expect(recap[1]).toMatch(/^\s+h1\s+ok=0\s+failed=0\s+skipped=0\s+cancelled=2\s+killed by cancel$/);
    expect(recap[2]).toMatch(/^\s+h2\s+ok=0\s+failed=0\s+skipped=0\s+cancelled=2\s+run cancelled$/);
    // The stage's totals count h2's queued command too: it was cancelled before the stage ended.
    expect(lines).toContain('stage 1/2 hang: 0 ok, 0 failed, 2 cancelled');
    expect(lines.indexOf('stage 1/2 hang: 0 ok, 0 failed, 2 cancelled')).toBeGreaterThan(
      lines.findIndex((l) => l.startsWith('[h2] hang CANCELLED')),
    );
  });
});

describe('under GitHub Actions', { timeout: 120_000 }, () => {
  it('groups each stage, annotates each failed host with its reason, and writes a job summary', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET, 'summary.md': '# earlier step\n' });
    const summary = join(dir, 'summary.md');
    const result = await runCli(dir, ['apply', 'ship'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(result.exitCode, result.stderr).toBe(1);
    const lines = result.stdout.split('\n');
    expect(lines.filter((l) => l.startsWith('::group::'))).toEqual([
      '::group::stage 1/3: fetch',
      '::group::stage 2/3: build',
      '::group::stage 3/3: check',
    ]);
    expect(lines.filter((l) => l === '::endgroup::')).toHaveLength(3);
    // A stage's totals follow its group, so they read with every group folded.
    expect(lines[lines.indexOf('::group::stage 3/3: check') - 1]).toBe('stage 2/3 build: 4 ok, 1 failed');
    expect(lines[lines.indexOf('::group::stage 3/3: check') - 2]).toBe('::endgroup::');
    // Groups close before the recap, so the recap is never folded away.
    expect(lines.lastIndexOf('::endgroup::')).toBeLessThan(lines.indexOf('RECAP r1 ship'));
    expect(lines.filter((l) => l.startsWith('::error'))).toEqual([
      '::error title=nixfleet r1%3A h2 failed::h2: build ERROR: exit code 3',
    ]);
    const markdown = readFileSync(summary, 'utf8');
    expect(markdown.startsWith('# earlier step\n')).toBe(true);
    expect(markdown).toContain('### nixfleet ship: PARTIAL');
    expect(markdown).toContain('| h2 | ❌ | 1 | 1 | 1 | build ERROR: exit code 3 |');
    expect(markdown).toContain('| h1 | ✅ | 3 | 0 | 0 |  |');
    expect(markdown).toContain('`nixfleet retry r1 --force` (build is not marked retryable)');
  });

  it('folds many completed hosts into one row of the summary, after the hosts that failed', async () => {
    const hosts = Array.from({ length: 12 }, (_, i) => `  h${String(i + 1).padStart(2, '0')}: {}`).join('\n');
    const fleet = `version: 1\nhosts:\n${hosts}\nops:\n  check: { run: 'test "$NIXFLEET_HOST" != h05' }\n`;
    const dir = makeTempDir({ 'fleet.yaml': fleet });
    const summary = join(dir, 'summary.md');
    const result = await runCli(dir, ['apply', 'check'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(result.exitCode, result.stderr).toBe(1);
    const rows = readFileSync(summary, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| host ') && !line.startsWith('| --- '));
    expect(rows).toEqual([
      '| h05 | ❌ | 0 | 1 | 0 | check ERROR: exit code 1 |',
      '| 11 hosts | ✅ | 1 | 0 | 0 | all completed: h01, h02, h03, … |',
    ]);
  });

  it('annotates at most 10 errors, as GitHub shows no more, and folds the failed hosts in the summary', async () => {
    const hosts = Array.from({ length: 14 }, (_, i) => `  h${String(i + 1).padStart(2, '0')}: {}`).join('\n');
    const fleet = `version: 1\nhosts:\n${hosts}\nops:\n  check: { run: 'case "$NIXFLEET_HOST" in h13|h14) ;; *) exit 1;; esac' }\n`;
    const dir = makeTempDir({ 'fleet.yaml': fleet });
    const summary = join(dir, 'summary.md');
    const result = await runCli(dir, ['apply', 'check'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(result.exitCode, result.stderr).toBe(1);
    const annotations = result.stdout.split('\n').filter((l) => l.startsWith('::error'));
    // 12 failed hosts: 9 of them, then one for the other 3 and where to find them.
    expect(annotations).toHaveLength(10);
    expect(annotations[0]).toBe('::error title=nixfleet r1%3A h01 failed::h01: check ERROR: exit code 1');
    expect(annotations[8]).toBe('::error title=nixfleet r1%3A h09 failed::h09: check ERROR: exit code 1');
    expect(annotations[9]).toBe(
      "::error title=nixfleet r1%3A 3 more hosts failed::3 more hosts failed: every one is in the recap at the end of this step's log, in the job summary and in `nixfleet show r1`",
    );
    const rows = readFileSync(summary, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('| ') && !line.startsWith('| host ') && !line.startsWith('| --- '));
    expect(rows).toEqual([
      '| 12 hosts | ❌ | 0 | 1 | 0 | check ERROR: exit code 1 (h01, h02, h03, …) |',
      '| h13 | ✅ | 1 | 0 | 0 |  |',
      '| h14 | ✅ | 1 | 0 | 0 |  |',
    ]);
  });

  it("a backtick in the -f path does not end the summary's code spans early", async () => {
    const dir = makeTempDir({ 'a`b/fleet.yaml': FLEET });
    const summary = join(dir, 'summary.md');
    const result = await runCli(dir, ['-f', 'a`b/fleet.yaml', 'apply', 'ship'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(result.exitCode, result.stderr).toBe(1);
    // The fence is longer than any run of backticks inside (CommonMark, code spans).
    expect(readFileSync(summary, 'utf8')).toContain(
      "Next: ``nixfleet -f 'a`b/fleet.yaml' show r1``, then ``nixfleet -f 'a`b/fleet.yaml' retry r1 --force`` (build is not marked retryable)",
    );
  });

  it('the summary starts on a line of its own after an earlier step that left no final newline', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET, 'summary.md': '| a | b |\n| - | - |\n| 1 | 2 |' });
    const summary = join(dir, 'summary.md');
    const result = await runCli(dir, ['apply', 'ship'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
    });
    expect(result.exitCode, result.stderr).toBe(1);
    const lines = readFileSync(summary, 'utf8').split('\n');
    expect(lines.slice(0, 4)).toEqual(['| a | b |', '| - | - |', '| 1 | 2 |', '### nixfleet ship: PARTIAL']);
  });

  it('a summary that is a named pipe nobody reads is said on stderr; the run exits as it ended', {
    timeout: 120_000,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const summary = join(dir, 'summary.md');
    execFileSync('mkfifo', [summary]);
    // Appending waited in open(2) for a reader forever, deaf to SIGINT and SIGTERM (CORE-002);
    // the bound is execa's, which sends SIGTERM, then SIGKILL.
    const result = await runCli(dir, ['apply', 'ship'], {
      env: { GITHUB_ACTIONS: 'true', GITHUB_STEP_SUMMARY: summary },
      timeoutMs: 60_000,
    });
    expect(result.stderr).toContain(
      `nixfleet: the job summary was not written to ${summary}: no process reads this named pipe`,
    );
    expect(result.exitCode, result.stderr).toBe(1);
  });

  it('without GITHUB_ACTIONS there are no workflow commands and no summary', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const summary = join(dir, 'summary.md');
    const result = await runCli(dir, ['apply', 'ship'], { env: { GITHUB_STEP_SUMMARY: summary } });
    expect(result.stdout).not.toContain('::');
    expect(() => readFileSync(summary)).toThrow();
  });
});

describe('the JUnit report', { timeout: 120_000 }, () => {
  it('validates against the junit-4 schema, and skipped cases say why', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await runCli(dir, ['apply', 'ship', '--junit', 'report.xml']);
    expect(result.exitCode, result.stderr).toBe(1);
    // When the report could not be written, stderr says why: show it rather than xmllint's complaint.
    expect(existsSync(join(dir, 'report.xml')), result.stderr).toBe(true);
    const xsd = join(ROOT, 'test/fixtures/junit/junit-4.xsd');
    // xmllint exits non-zero (and the call throws with its message) when the report is invalid.
    const verdict = execFileSync('xmllint', ['--noout', '--schema', xsd, join(dir, 'report.xml')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    expect(verdict).toBe('');
    const xml = readFileSync(join(dir, 'report.xml'), 'utf8');
    expect(xml).toContain('<skipped message="SKIPPED: build ERROR: exit code 3"/>');
  });

  it('the schema check itself rejects what consumers reject', () => {
    const dir = makeTempDir({
      'bad.xml':
        '<?xml version="1.0"?>\n<testsuites tests="1" skipped="0"><testsuite name="a" tests="1"/></testsuites>\n',
    });
    const xsd = join(ROOT, 'test/fixtures/junit/junit-4.xsd');
    expect(() =>
      execFileSync('xmllint', ['--noout', '--schema', xsd, join(dir, 'bad.xml')], { stdio: 'pipe' }),
    ).toThrow(/skipped/);
  });
});
