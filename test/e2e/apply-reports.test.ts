// Report files of `apply` (see CORE-002, reports): a --junit path that cannot be written is refused
// before anything runs (exit 2), and one that fails to write after the run never hides the run's
// outcome. The real CLI in a temp directory.
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/store/database.js';
import { PIPE_STALL_MS } from '../../src/ui/attended-run.js';
import { waitFor } from '../engine/support/wait-for.js';
import { BIN, makeTempDir, runCli, spawnCli } from '../support/cli.js';

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
      // With --json only the error object (CORE-002), in the words of stderr's first line.
      const { error } = JSON.parse(result.stdout);
      expect(`nixfleet: ${error.message}`).toBe(result.stderr.split('\n')[0]);
      expect(error.exitCode).toBe(2);
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

describe('--junit naming a named pipe (FIFO)', () => {
  it('with no reader, the run ends as a report that could not be written (exit 1), instead of waiting for one', {
    timeout: 120_000,
  }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    expect(spawnSync('mkfifo', [join(cwd, 'junit.xml')]).status).toBe(0);
    // Nixfleet waited in open(2) for a reader forever, deaf to SIGINT and SIGTERM; only
    // SIGKILL ended it (the bound below is execa's, which sends SIGTERM, then SIGKILL).
    const result = await runCli(cwd, ['apply', 'touch', '--junit', 'junit.xml', '--json'], { timeoutMs: 60_000 });
    expect(result.stderr).toMatch(
      /^nixfleet: the JUnit report was not written to .*\/junit\.xml: no process reads this named pipe$/m,
    );
    expect(JSON.parse(result.stdout)).toMatchObject({ runId: 'r1', status: 'COMPLETE' });
    expect(result.exitCode).toBe(1);
  });

  it('with a reader, gets the whole report, as a pipe is written as it is', { timeout: 120_000 }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    const result = spawnSync(
      'sh',
      [
        '-c',
        'mkfifo junit.xml && { cat junit.xml > got.xml & } && "$0" "$1" apply touch --junit junit.xml; s=$?; wait; exit $s',
        process.execPath,
        BIN,
      ],
      { cwd, encoding: 'utf8', timeout: 60_000, env: { ...process.env, CI: 'true', NO_COLOR: '1' } },
    );
    expect(result.status, result.stderr).toBe(0);
    expect(readFileSync(join(cwd, 'got.xml'), 'utf8')).toMatch(/^<\?xml[\s\S]*<\/testsuites>\n?$/);
  });
});

describe('--junit naming a named pipe whose reader stopped reading', () => {
  /** 30 failing hosts, each with 4 KB of output in its <failure>: a report larger than a pipe holds; a reader that opened the pipe and never reads. */
  function stalledPipe() {
    const hosts = Array.from({ length: 30 }, (_, i) => `h${i + 1}: {}`).join(', ');
    const cwd = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { ${hosts} }
ops:
  noisy:
    run: i=0; while [ $i -lt 40 ]; do printf '%0100d\\n' $i; i=$((i+1)); done; exit 1
`,
    });
    expect(spawnSync('mkfifo', [join(cwd, 'junit.xml')]).status).toBe(0);
    const reader = spawn('sh', ['-c', 'exec sleep 600 < junit.xml'], { cwd, stdio: 'ignore' });
    return { cwd, reader };
  }

  it('gives up once the reader took nothing for a while: the reason on stderr, exit 1, the run journaled whole', {
    timeout: 120_000,
  }, async () => {
    const { cwd, reader } = stalledPipe();
    try {
      const started = Date.now();
      // Nixfleet blocked in write(2) forever once the pipe was full, deaf to SIGTERM.
      const result = await runCli(cwd, ['apply', 'noisy', '--junit', 'junit.xml', '--json'], { timeoutMs: 60_000 });
      expect(result.stderr).toMatch(
        /^nixfleet: the JUnit report was not written to .*\/junit\.xml: the process reading this named pipe took nothing for 10s \(65536 of \d+ bytes written\)$/m,
      );
      expect(Date.now() - started).toBeLessThan(PIPE_STALL_MS + 30_000);
      expect(result.exitCode).toBe(1);
      expect(JSON.parse(result.stdout)).toMatchObject({ runId: 'r1', status: 'FAILED' });
      // The journal has the whole run: its end and each command's status and output.
      const shown = JSON.parse((await runCli(cwd, ['--json', 'show', 'r1'])).stdout);
      expect(shown.run.status).toBe('FAILED');
      const logs = await runCli(cwd, ['logs', 'r1']);
      expect(logs.stdout.match(/^==> c\d+ \[h\d+\] noisy ERROR <==$/gm)).toHaveLength(30);
      expect(logs.stdout.match(/^0{98}39$/gm)).toHaveLength(30);
    } finally {
      reader.kill('SIGKILL');
    }
  });

  it('gives up at once on SIGTERM while it waits for the reader', { timeout: 120_000 }, async () => {
    const { cwd, reader } = stalledPipe();
    try {
      const apply = spawnCli(cwd, ['apply', 'noisy', '--junit', 'junit.xml'], { timeoutMs: 60_000 });
      await waitFor(() => runStatus(cwd) === 'FAILED', 'the run journaled FAILED');
      // The report is being written by now (the run's end is journaled before it).
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      const signalled = Date.now();
      apply.kill('SIGTERM');
      const result = await apply;
      expect(Date.now() - signalled).toBeLessThan(PIPE_STALL_MS / 2);
      expect(String(result.stderr)).toMatch(
        /^nixfleet: the JUnit report was not written to .*\/junit\.xml: stopped by a signal while its reader was slow \(65536 of \d+ bytes written\)$/m,
      );
      expect(result.exitCode).toBe(1);
    } finally {
      reader.kill('SIGKILL');
    }
  });
});

/** The status of run r1 as its journal has it, read-only while nixfleet runs. */
function runStatus(cwd: string): string | undefined {
  const path = join(cwd, '.nixfleet', 'nixfleet.db');
  if (!existsSync(path)) return undefined;
  const db = new SqliteDriver(path, { readonly: true, fileMustExist: true });
  try {
    return (db.prepare("SELECT status FROM pipelines WHERE id = 'r1'").get() as { status: string } | undefined)?.status;
  } catch {
    return undefined;
  } finally {
    db.close();
  }
}

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

describe('a report through a link to the fleet or its journal', () => {
  // A hard link or a symbolic link (also one that points nowhere yet: the journal's -wal exists
  // only while a journal is open) named as the report used to be written through, replacing the
  // journal or the fleet file (see CORE-002, report files).
  const LINKED = `version: 1
include: [more.yaml]
hosts:
  a: {}
ops:
  touch:
    run: touch ran
`;
  const MORE = `ops:
  say:
    run: echo said
`;

  /**
   * Every file of the directory (the data directory included), by relative path, with its bytes;
   * but the fleet cache, which any start that compiles the fleet may write (CORE-005, start-up):
   * it is neither the journal nor the fleet.
   */
  const contents = (dir: string) =>
    Object.fromEntries(
      readdirSync(dir, { recursive: true, withFileTypes: true })
        .filter((entry) => entry.isFile() && entry.name !== 'fleet-cache.json')
        .map((entry) => {
          const path = join(entry.parentPath, entry.name);
          return [relative(dir, path), readFileSync(path).toString('base64')];
        }),
    );

  it('is refused before the run (exit 2): nothing runs, the journal and the fleet stay as they were', {
    timeout: 120_000,
  }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': LINKED, 'more.yaml': MORE });
    const first = await runCli(cwd, ['apply', 'say']);
    expect(first.exitCode, first.stderr).toBe(0);
    // The journal closed cleanly: its -wal is gone, so a link to it points nowhere.
    expect(existsSync(join(cwd, '.nixfleet/nixfleet.db-wal'))).toBe(false);
    const cases: [string, (path: string) => void, RegExp][] = [
      [
        'r.xml',
        (path) => symlinkSync('.nixfleet/nixfleet.db-wal', path),
        /^nixfleet: --junit r\.xml: .*\/r\.xml is a symbolic link to .*\/\.nixfleet\/nixfleet\.db-wal, in the data directory .*\/\.nixfleet, which holds the journal\n {2}hint: /,
      ],
      [
        'new.xml',
        (path) => symlinkSync('.nixfleet/logs/new.xml', path),
        /^nixfleet: --junit new\.xml: .*\/new\.xml is a symbolic link to .*\/\.nixfleet\/logs\/new\.xml, in the data directory/,
      ],
      [
        'db.xml',
        (path) => linkSync(join(cwd, '.nixfleet/nixfleet.db'), path),
        /^nixfleet: --junit db\.xml: .*\/db\.xml is a hard link to .*\/\.nixfleet\/nixfleet\.db; the report would replace it\n {2}hint: /,
      ],
      [
        'log.xml',
        (path) => linkSync(join(cwd, '.nixfleet/logs/c1.log'), path),
        /^nixfleet: --junit log\.xml: .*\/log\.xml is a hard link to .*\/\.nixfleet\/logs\/c1\.log;/,
      ],
      [
        'fleet.xml',
        (path) => linkSync(join(cwd, 'fleet.yaml'), path),
        /^nixfleet: --junit fleet\.xml: .*\/fleet\.xml is a hard link to .*\/fleet\.yaml; the report would replace it\n {2}hint: /,
      ],
      [
        'more.xml',
        (path) => linkSync(join(cwd, 'more.yaml'), path),
        /^nixfleet: --junit more\.xml: .*\/more\.xml is a hard link to .*\/more\.yaml;/,
      ],
      [
        'sub/fleet.xml',
        (path) => {
          mkdirSync(join(cwd, 'sub'));
          symlinkSync('../fleet.yaml', path);
        },
        /^nixfleet: --junit sub\/fleet\.xml: .*\/sub\/fleet\.xml is a symbolic link to .*\/fleet\.yaml, a file of the fleet; the report would replace it\n {2}hint: /,
      ],
    ];
    for (const [name, link] of cases) link(join(cwd, name));
    const before = contents(cwd);
    for (const [name, , message] of cases) {
      for (const args of [
        ['apply', 'touch', '--junit', name],
        ['retry', 'r1', '--force', '--junit', name],
      ]) {
        const result = await runCli(cwd, args);
        expect(result.stderr, args.join(' ')).toMatch(message);
        // One line and its hint (execa drops the last newline).
        expect(result.stderr.split('\n'), args.join(' ')).toEqual([
          expect.stringMatching(/^nixfleet: /),
          expect.stringMatching(/^ {2}hint: /),
        ]);
        expect(result.exitCode, args.join(' ')).toBe(2);
        expect(result.stdout, args.join(' ')).toBe('');
      }
    }
    expect(existsSync(join(cwd, 'ran'))).toBe(false);
    expect(contents(cwd)).toEqual(before);
    // Nothing was lost: the next run is r2, after r1.
    const next = await runCli(cwd, ['apply', 'touch', '--json']);
    expect(JSON.parse(next.stdout)).toMatchObject({ runId: 'r2', status: 'COMPLETE' });
    const runs = await runCli(cwd, ['runs', '--json']);
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toEqual(['r2', 'r1']);
  });

  it('made during the run, is replaced by the report, not written through', { timeout: 120_000 }, async () => {
    const cwd = makeTempDir({
      'fleet.yaml': `version: 1
hosts:
  a: {}
ops:
  link-wal:
    run: ln -s .nixfleet/nixfleet.db-wal report.xml
  link-db:
    run: ln .nixfleet/nixfleet.db report.xml
`,
    });
    for (const [op, runId] of [
      ['link-wal', 'r1'],
      ['link-db', 'r2'],
    ] as const) {
      rmSync(join(cwd, 'report.xml'), { force: true });
      const result = await runCli(cwd, ['apply', op, '--junit', 'report.xml', '--json']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(JSON.parse(result.stdout)).toMatchObject({ runId, status: 'COMPLETE' });
      expect(lstatSync(join(cwd, 'report.xml')).isFile()).toBe(true);
      expect(lstatSync(join(cwd, 'report.xml')).nlink).toBe(1);
      expect(readFileSync(join(cwd, 'report.xml'), 'utf8')).toMatch(/^<\?xml /);
    }
    const runs = await runCli(cwd, ['runs', '--json']);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toEqual(['r2', 'r1']);
  });

  it('a symbolic link to a report elsewhere still writes the report there', { timeout: 60_000 }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    mkdirSync(join(cwd, 'artifacts'));
    symlinkSync('artifacts/junit.xml', join(cwd, 'report.xml'));
    const result = await runCli(cwd, ['apply', 'touch', '--junit', 'report.xml']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(lstatSync(join(cwd, 'report.xml')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(cwd, 'artifacts/junit.xml'), 'utf8')).toMatch(/^<\?xml /);
    // Nothing is left beside it.
    expect(readdirSync(join(cwd, 'artifacts'))).toEqual(['junit.xml']);
    // A device and a pipe are written as they are, never replaced: /dev/null, and /dev/stdout
    // into a shell's pipe (its link names `pipe:[…]`, not a file).
    const devNull = await runCli(cwd, ['apply', 'touch', '--junit', '/dev/null']);
    expect(devNull.exitCode, devNull.stderr).toBe(0);
    expect(statSync('/dev/null').isCharacterDevice()).toBe(true);
    const piped = spawnSync(
      'sh',
      ['-c', '"$0" "$1" apply touch --json --junit /dev/stdout | cat', process.execPath, BIN],
      {
        cwd,
        env: { ...process.env, CI: 'true', NO_COLOR: '1' },
        encoding: 'utf8',
      },
    );
    expect(piped.status, piped.stderr).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).toMatch(/^<\?xml [\s\S]*<\/testsuites>\n$/m);
  });
});
