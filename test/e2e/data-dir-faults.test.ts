// Bad data directories, end to end (see CORE-003, errors): every command that opens the journal
// (`apply`, `runs`, `show`, `logs`, `serve`, `prune`, `cancel`, `watch --run`), run by the real CLI
// against a data directory broken in one way, answers with one line naming the path, a hint with
// the fix, and exit 2: never `internal error` and a stack trace. So does `logs` for an output file
// it cannot read.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { openJournal } from '../../src/store/journal.js';
import { SCHEMA_VERSION } from '../../src/store/schema.js';
import { waitFor, waitForFile, waitForPid } from '../engine/support/wait-for.js';
import { BIN, makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { mountTmpfs, type SmallDisk } from '../support/small-disk.js';

const FLEET = `version: 1
hosts:
  a: {}
ops:
  hi:
    run: echo hi
`;

/** A journal holding one finished run (r1, command c1), checkpointed into the file on close. */
function realJournal(dataDir: string): string {
  const journal = openJournal(dataDir);
  const { run, commands } = journal.createRun({
    name: 'hi',
    targetKind: 'op',
    hosts: ['a'],
    stages: ['hi'],
    commands: [{ stage: 0, hostId: 'a', op: 'hi' }],
    registryHash: 'sha256:faults',
    actor: 'cli',
  });
  const id = commands[0]!.id;
  journal.transitionCommand(id, 'VALIDATING');
  journal.transitionCommand(id, 'EXECUTING');
  journal.transitionCommand(id, 'SUCCESS', { exitCode: 0 });
  journal.finishRun(run.id, 'COMPLETE');
  journal.close();
  return join(dataDir, 'nixfleet.db');
}

let template: string;
let readOnlyDisk: SmallDisk | undefined;

interface Fault {
  readonly name: string;
  /** Breaks the data directory `dataDir`; returns the path the error must name. */
  readonly make: (dataDir: string) => string;
  /** The commands that meet the fault; all of COMMANDS unless said. */
  readonly commands?: readonly string[];
  /** The data directory's name in the test's directory, `data` unless said. */
  readonly dirName?: string;
}

/** A data directory holding a copy of the template journal. */
function withJournal(dataDir: string): string {
  mkdirSync(dataDir, { recursive: true });
  copyFileSync(template, join(dataDir, 'nixfleet.db'));
  return join(dataDir, 'nixfleet.db');
}

const FAULTS: readonly Fault[] = [
  {
    name: 'the data directory is a file',
    make: (d) => {
      writeFileSync(d, 'not a directory');
      return d;
    },
  },
  {
    name: 'a parent of the data directory is a file',
    make: (d) => {
      writeFileSync(d, 'x');
      return d;
    },
  },
  {
    name: 'logs is a file',
    make: (d) => {
      withJournal(d);
      writeFileSync(join(d, 'logs'), 'x');
      return join(d, 'logs');
    },
    // The commands that read or write output files; `runs`, `show` and `cancel` need only the
    // journal (below, "a broken logs/").
    commands: ['apply', 'logs', 'serve', 'prune', 'watch --run'],
  },
  {
    name: 'nixfleet.db is a directory',
    make: (d) => {
      mkdirSync(join(d, 'nixfleet.db'), { recursive: true });
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db-wal is a directory',
    make: (d) => {
      withJournal(d);
      mkdirSync(join(d, 'nixfleet.db-wal'));
      return join(d, 'nixfleet.db-wal');
    },
  },
  {
    name: 'nixfleet.db-shm is a directory',
    make: (d) => {
      withJournal(d);
      mkdirSync(join(d, 'nixfleet.db-shm'));
      return join(d, 'nixfleet.db-shm');
    },
  },
  {
    name: 'nixfleet.db is garbage',
    make: (d) => {
      mkdirSync(d);
      writeFileSync(join(d, 'nixfleet.db'), Buffer.alloc(8192, 0xa5));
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db is a text file',
    make: (d) => {
      mkdirSync(d);
      writeFileSync(join(d, 'nixfleet.db'), 'hello, world\n');
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db is truncated to its header',
    make: (d) => {
      mkdirSync(d);
      copyFileSync(template, join(d, 'nixfleet.db'));
      truncateSync(join(d, 'nixfleet.db'), 100);
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db is truncated to half',
    make: (d) => {
      mkdirSync(d);
      const bytes = readFileSync(template);
      writeFileSync(join(d, 'nixfleet.db'), bytes.subarray(0, Math.floor(bytes.length / 2)));
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db is another program’s SQLite database',
    make: (d) => {
      mkdirSync(d);
      const db = new Database(join(d, 'nixfleet.db'));
      db.exec('CREATE TABLE meta (name TEXT, size INTEGER); CREATE TABLE pipelines (x)');
      db.close();
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db claims the current schema but lacks its tables',
    make: (d) => {
      mkdirSync(d);
      const db = new Database(join(d, 'nixfleet.db'));
      db.exec('CREATE TABLE notes (text TEXT)');
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
      db.close();
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'nixfleet.db comes from a newer nixfleet',
    make: (d) => {
      mkdirSync(d);
      copyFileSync(template, join(d, 'nixfleet.db'));
      const db = new Database(join(d, 'nixfleet.db'));
      db.pragma(`user_version = ${SCHEMA_VERSION + 7}`);
      db.close();
      return join(d, 'nixfleet.db');
    },
  },
  {
    name: 'a run row is corrupt',
    make: (d) => {
      mkdirSync(d);
      copyFileSync(template, join(d, 'nixfleet.db'));
      const db = new Database(join(d, 'nixfleet.db'));
      db.prepare("UPDATE pipelines SET hosts = '[not json' WHERE id = 'r1'").run();
      db.close();
      return join(d, 'nixfleet.db');
    },
    // Only the commands that read that row meet it.
    commands: ['runs', 'show'],
  },
  {
    // A status this nixfleet does not know is never shown as if it were one, nor acted on.
    name: 'a run row has a status nixfleet does not know',
    make: (d) => {
      mkdirSync(d);
      copyFileSync(template, join(d, 'nixfleet.db'));
      const db = new Database(join(d, 'nixfleet.db'));
      db.prepare("UPDATE pipelines SET status = 'WEIRD' WHERE id = 'r1'").run();
      db.close();
      return join(d, 'nixfleet.db');
    },
    commands: ['runs', 'show'],
  },
  {
    name: 'the data directory is a symbolic link to itself',
    make: (d) => {
      symlinkSync(d, d);
      return d;
    },
  },
  {
    name: 'the data directory’s name is longer than the file system allows',
    dirName: 'd'.repeat(300),
    make: (d) => d,
  },
  {
    name: 'the data directory is a symlink to a file',
    make: (d) => {
      const file = `${d}-target`;
      writeFileSync(file, 'x');
      symlinkSync(file, d);
      return d;
    },
  },
];

/** Each command that opens the journal, as a user would type it. */
const COMMANDS: Readonly<Record<string, readonly string[]>> = {
  apply: ['apply', 'hi'],
  runs: ['runs'],
  show: ['show', 'r1'],
  logs: ['logs', 'c1'],
  serve: ['serve', '--port', '0'],
  prune: ['prune'],
  cancel: ['cancel', 'r1'],
  'watch --run': ['watch', '--run', 'hi'],
};

beforeAll(() => {
  template = realJournal(join(makeTempDir(), 'data'));
});
afterAll(async () => {
  await readOnlyDisk?.unmount();
});

/** The data directory for one fault; "a parent is a file" nests it under the file. */
function dataDirFor(fault: Fault, cwd: string): { dataDir: string; broken: string } {
  if (fault.name === 'a parent of the data directory is a file') {
    const parent = join(cwd, 'parent');
    return { dataDir: join(parent, 'data'), broken: fault.make(parent) };
  }
  const dataDir = join(cwd, fault.dirName ?? 'data');
  return { dataDir, broken: fault.make(dataDir) };
}

async function expectCleanRefusal(cwd: string, dataDir: string, broken: string, command: string) {
  const result = await runCli(cwd, [...COMMANDS[command]!, '--data-dir', dataDir], { timeoutMs: 60_000 });
  const context = `${command}: ${result.stderr}`;
  expect(result.stderr, context).not.toMatch(/internal error|\n\s+at /);
  expect(result.exitCode, context).toBe(2);
  const lines = result.stderr.trimEnd().split('\n');
  expect(lines, context).toHaveLength(2);
  expect(lines[0], context).toMatch(/^nixfleet: /);
  expect(lines[0], context).toContain(broken);
  expect(lines[1], context).toMatch(/^ {2}hint: \S/);
}

describe('a broken data directory is one clear line and exit 2 for every command that opens the journal', () => {
  it.each(FAULTS.map((fault) => [fault.name, fault] as const))('%s', { timeout: 180_000 }, async (_name, fault) => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    const { dataDir, broken } = dataDirFor(fault, cwd);
    const commands = fault.commands ?? Object.keys(COMMANDS);
    const before = readdirSync(cwd).sort();
    await Promise.all(commands.map((command) => expectCleanRefusal(cwd, dataDir, broken, command)));
    // Nothing made beside it (a looping link or a name too long could not hold a directory anyway).
    expect(readdirSync(cwd).sort()).toEqual(before);
  });
});

describe('a data directory no path can name', () => {
  it('`settings.dataDir` holding a NUL byte: one line naming the setting and exit 2, nothing created', {
    timeout: 180_000,
  }, async () => {
    // `validate` refuses the file at the value (CORE-005); these read the setting without compiling.
    const cwd = makeTempDir({ 'fleet.yaml': FLEET.replace('hosts:', 'settings: {dataDir: "\\0x"}\nhosts:') });
    await Promise.all(
      Object.entries(COMMANDS)
        .filter(([command]) => command !== 'apply')
        .map(async ([command, args]) => {
          const result = await runCli(cwd, args, { timeoutMs: 60_000 });
          const context = `${command}: ${result.stderr}`;
          expect(result.stderr, context).not.toMatch(/internal error|\n\s+at /);
          expect(result.exitCode, context).toBe(2);
          expect(result.stderr.trimEnd().split('\n'), context).toEqual([
            `nixfleet: settings.dataDir in ${join(cwd, 'fleet.yaml')} contains a NUL byte (\\0), which no path can hold`,
            '  hint: remove the NUL byte (`nixfleet validate` shows where), or choose another data directory with --data-dir',
          ]);
        }),
    );
    expect(readdirSync(cwd)).toEqual(['fleet.yaml']);
  });
});

describe('a data directory its file system will not make', () => {
  it.runIf(process.platform === 'linux')('under /proc: one line and exit 2, not a hang', async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    // Node's own recursive mkdir never returns for this path.
    const result = await runCli(cwd, ['apply', 'hi', '--data-dir', '/proc/nixfleet-nope'], { timeoutMs: 30_000 });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual([
      'nixfleet: cannot create /proc/nixfleet-nope: its file system does not allow it',
      '  hint: choose another data directory with --data-dir',
    ]);
  });
});

describe('a read-only file system', () => {
  it('with no journal yet: every command that needs one names the directory and exits 2', {
    timeout: 180_000,
  }, async () => {
    readOnlyDisk = await mountTmpfs('4m');
    if (readOnlyDisk === undefined) return;
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    mkdirSync(join(readOnlyDisk.dir, 'empty'));
    realJournal(join(readOnlyDisk.dir, 'kept'));
    await readOnlyDisk.remount('ro');
    const dataDir = join(readOnlyDisk.dir, 'empty', 'data');
    await Promise.all(
      ['apply', 'show', 'logs', 'serve'].map((command) =>
        expectCleanRefusal(cwd, dataDir, join(readOnlyDisk!.dir, 'empty'), command),
      ),
    );
    // Listing nothing is not an error (CORE-002): runs says where it looked and creates nothing.
    const runs = await runCli(cwd, ['runs', '--data-dir', dataDir]);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout).toContain(`no journal in ${dataDir}: nothing has run here yet`);
  });

  it('with a journal: apply, serve and prune refuse (exit 2); runs, show and logs still read it', {
    timeout: 180_000,
  }, async () => {
    if (readOnlyDisk === undefined) return;
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    const dataDir = join(readOnlyDisk.dir, 'kept');
    const db = join(dataDir, 'nixfleet.db');
    await Promise.all(['apply', 'serve', 'prune'].map((command) => expectCleanRefusal(cwd, dataDir, db, command)));
    const runs = await runCli(cwd, ['runs', '--data-dir', dataDir]);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/^r1\s+hi\s+COMPLETE/m);
    expect(runs.stderr).toMatch(/^nixfleet: warning: .*nixfleet\.db.*read-only/);
    const show = await runCli(cwd, ['show', 'r1', '--data-dir', dataDir]);
    expect(show.exitCode, show.stderr).toBe(0);
    expect(show.stdout).toMatch(/^a\s+SUCCESS/m);
  });
});

describe('a read-only file system holding a run whose nixfleet was killed', () => {
  // Reading commands could not mark the dead run's work in the file, and showed it RUNNING, its
  // commands EXECUTING, with a duration that kept growing (CORE-003).
  it('runs and show show it ORPHANED, as the next writer records it, and write nothing', {
    timeout: 180_000,
  }, async () => {
    const disk = await mountTmpfs('8m');
    if (disk === undefined) return;
    try {
      const cwd = makeTempDir();
      const pidFile = join(cwd, 'hold.pid');
      writeFileSync(
        join(cwd, 'fleet.yaml'),
        `version: 1\nhosts:\n  a: {}\nops:\n  hold:\n    run: echo $$ > ${JSON.stringify(pidFile)}; exec sleep 60\n`,
      );
      const dataDir = join(disk.dir, 'data');
      const apply = spawnCli(cwd, ['apply', 'hold', '--data-dir', dataDir], { timeoutMs: 90_000 });
      const commandPid = await waitForPid(pidFile);
      apply.kill('SIGKILL');
      await apply;
      // Its lifeline kills the command; recovery would leave a live one's work as it is.
      await waitFor(() => !isRunning(commandPid), `command ${commandPid} to be killed`, 30_000);
      await disk.remount('ro');
      const files = ['nixfleet.db', 'nixfleet.db-wal'].map((name) => join(dataDir, name));
      const before = files.map((file) => readFileSync(file));

      const runs = await runCli(cwd, ['runs', '--data-dir', dataDir]);
      expect(runs.exitCode, runs.stderr).toBe(0);
      expect(runs.stderr).toMatch(/^nixfleet: warning: .*nixfleet\.db.*read-only/);
      expect(runs.stdout).toMatch(/^r1\s+hold\s+ORPHANED\s/m);
      const show = await runCli(cwd, ['show', 'r1', '--data-dir', dataDir]);
      expect(show.exitCode, show.stderr).toBe(0);
      expect(show.stdout).toMatch(/^a\s+ORPHANED/m);
      expect(show.stdout).toContain(
        `orphaned: nixfleet process ${apply.pid} on ${hostname()} stopped before this finished`,
      );
      expect(files.map((file) => readFileSync(file))).toEqual(before);

      // Writable again: the next open records what the readers showed.
      await disk.remount('rw');
      const written = await runCli(cwd, ['runs', '--data-dir', dataDir]);
      expect(written.stderr).toBe('');
      expect(written.stdout).toMatch(/^r1\s+hold\s+ORPHANED\s/m);
      const journal = openJournal(dataDir, { readOnly: true });
      expect(journal.getRun('r1')?.status).toBe('ORPHANED');
      journal.close();
    } finally {
      await disk.unmount();
    }
  });
});

describe('an output file that cannot be read', () => {
  // `logs` read only ENOENT as "no longer stored": a directory in the file's place was an internal
  // error (and half a JSON object on stdout), a file it may not read was "cannot write".
  const TWO_HOSTS = FLEET.replace('  a: {}', '  a: {}\n  b: {}');

  async function appliedDir(): Promise<string> {
    const cwd = makeTempDir({ 'fleet.yaml': TWO_HOSTS });
    const apply = await runCli(cwd, ['apply', 'hi']);
    expect(apply.exitCode, apply.stderr).toBe(0);
    return cwd;
  }

  function expectOneLine(
    result: { exitCode: number; stdout: string; stderr: string },
    lines: readonly string[],
    json = false,
  ) {
    expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr.trimEnd().split('\n')).toEqual(lines);
    // Nothing printed before it was found: no half text, no half JSON; with --json only the
    // error object, in the same words (CORE-002).
    if (!json) expect(result.stdout).toBe('');
    else {
      expect(JSON.parse(result.stdout)).toEqual({
        error: {
          message: lines[0]!.replace(/^nixfleet: /, ''),
          hint: lines[1]!.replace(/^ {2}hint: /, ''),
          exitCode: 2,
        },
      });
    }
  }

  it('a directory in its place: exit 2 naming it, before anything is printed; the journal keeps the rest', {
    timeout: 180_000,
  }, async () => {
    const cwd = await appliedDir();
    const file = join(cwd, '.nixfleet/logs/c1.log');
    rmSync(file);
    mkdirSync(file);
    const lines = [
      `nixfleet: cannot read the output file ${file}: it is a directory`,
      "  hint: move it away: nixfleet keeps each command's output in a file of that name (then logs says it is no longer stored)",
    ];
    for (const args of [
      ['logs', 'c1'],
      ['logs', 'c1', '--json'],
      ['logs', 'r1'],
      ['logs', 'r1', '--json'],
    ]) {
      expectOneLine(await runCli(cwd, args), lines, args.includes('--json'));
    }
    // Nothing journaled is lost: the run and the other host's output are there.
    expect((await runCli(cwd, ['logs', 'c2'])).stdout).toBe('hi');
    expect((await runCli(cwd, ['runs'])).stdout).toMatch(/^r1\s+hi\s+COMPLETE/m);
  });

  it('a file it may not read: exit 2, "cannot read", not "cannot write"', { timeout: 180_000 }, async () => {
    const cwd = await appliedDir();
    const file = join(cwd, '.nixfleet/logs/c2.log');
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      // Root reads any file: run the CLI as nobody, who may use the journal but not that file.
      chmodSync(cwd, 0o755);
      execFileSync('chmod', ['-R', 'a+rwX', join(cwd, '.nixfleet')]);
    }
    chmodSync(file, asRoot ? 0o600 : 0o000);
    const drop = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
    const logs = async (args: readonly string[]) => {
      const [program, ...rest] = [...drop, 'node', BIN, ...args];
      const result = await execa(program!, rest, { cwd, reject: false, env: { CI: 'true' }, timeout: 60_000 });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    };
    const lines = [
      `nixfleet: cannot read the output file ${file}: permission denied`,
      '  hint: make it readable by the user running nixfleet, or run nixfleet as its owner',
    ];
    expectOneLine(await logs(['logs', 'c2']), lines);
    expectOneLine(await logs(['logs', 'r1', '--json']), lines, true);
    expect(readFileSync(file, 'utf8')).toBe('hi\n');
    expect((await logs(['logs', 'c1'])).stdout).toBe('hi');
  });
});

describe('a broken logs/', () => {
  it('does not keep `cancel --kill` from stopping a run, nor `show` and `runs` from reading the journal', {
    timeout: 180_000,
  }, async () => {
    const cwd = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { a: {}, b: {}, c: {} }
ops:
  long:
    run: touch "started-$NIXFLEET_HOST"; echo start; sleep 20; touch "ended-$NIXFLEET_HOST"; echo end
`,
    });
    const apply = spawnCli(cwd, ['apply', 'long'], { timeoutMs: 120_000 });
    for (const host of ['a', 'b', 'c']) await waitForFile(join(cwd, `started-${host}`), 60_000);
    const logsDir = join(cwd, '.nixfleet', 'logs');
    // Each command's `start` has made its output file: none is made while the directory is removed.
    for (const id of ['c1', 'c2', 'c3']) await waitForFile(join(logsDir, `${id}.log`), 60_000);
    rmSync(logsDir, { recursive: true });
    writeFileSync(logsDir, '');

    const cancel = await runCli(cwd, ['cancel', 'r1', '--kill']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    expect(cancel.stdout).toContain('kill requested for run r1');
    const applied = await apply;
    // Killed, not run to the end of its 20 s sleep (a clock said so before, and a loaded machine
    // took longer than it allowed).
    expect(applied.exitCode, String(applied.stderr)).toBe(130);
    expect(readdirSync(cwd).filter((name) => name.startsWith('ended-'))).toEqual([]);

    const show = await runCli(cwd, ['show', 'r1', '--json']);
    expect(show.exitCode, show.stderr).toBe(0);
    const { run, commands } = JSON.parse(show.stdout);
    expect(run.status).toBe('CANCELLED');
    expect(commands.map((c: { status: string }) => c.status)).toEqual(['CANCELLED', 'CANCELLED', 'CANCELLED']);
    const runs = await runCli(cwd, ['runs']);
    expect(runs.exitCode, runs.stderr).toBe(0);
    expect(runs.stdout).toMatch(/^r1\s+long\s+CANCELLED/m);
    // The commands that read or write output files still refuse it, naming it.
    for (const args of [
      ['logs', 'r1'],
      ['apply', 'long'],
    ]) {
      const refused = await runCli(cwd, args);
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr.trimEnd().split('\n')).toEqual([
        `nixfleet: ${logsDir} is a file, not a directory`,
        '  hint: move it away, or choose another data directory with --data-dir',
      ]);
    }
    expect(readFileSync(logsDir, 'utf8')).toBe('');
  });
});

describe('a damaged id counter', () => {
  // A `meta` counter behind the ids in use made every apply an internal error with a stack trace
  // (`UNIQUE constraint failed: pipelines.id`), and one that was not a number gave run id r0.
  const FAILING = `${FLEET}  fails:\n    run: exit 1\n`;

  it.each([
    ['next_run', '1', 'is 1, but run r1 already exists', "UPDATE meta SET value = '3' WHERE key = 'next_run'"],
    [
      'next_command',
      '2',
      'is 2, but command c2 already exists',
      "UPDATE meta SET value = '3' WHERE key = 'next_command'",
    ],
    [
      'next_run',
      'abc',
      'is "abc", not a whole number of at least 1',
      "UPDATE meta SET value = '3' WHERE key = 'next_run'",
    ],
  ])(
    '%s = %s: apply and retry are one line naming it and the fix, exit 2; nothing is lost',
    {
      timeout: 180_000,
    },
    async (counter, value, found, fix) => {
      const cwd = makeTempDir({ 'fleet.yaml': FAILING });
      expect((await runCli(cwd, ['apply', 'fails'])).exitCode).toBe(1);
      expect((await runCli(cwd, ['apply', 'hi'])).exitCode).toBe(0);
      const db = join(cwd, '.nixfleet/nixfleet.db');
      const edit = (sql: string) => {
        const connection = new Database(db);
        connection.exec(sql);
        connection.close();
      };
      edit(`UPDATE meta SET value = '${value}' WHERE key = '${counter}'`);
      for (const args of [
        ['apply', 'hi'],
        ['retry', 'r1', '--force'],
      ]) {
        const result = await runCli(cwd, args);
        expect(result.stderr).not.toMatch(/internal error|\n\s+at /);
        expect(result.exitCode, result.stderr).toBe(2);
        expect(result.stderr.trimEnd().split('\n')).toEqual([
          `nixfleet: ${db} is damaged: its id counter ${counter} (table meta) ${found}`,
          `  hint: set it after the highest id in use (sqlite3 ${db} "${fix}"), or restore it from a backup`,
        ]);
      }
      const runs = await runCli(cwd, ['runs']);
      expect(runs.stdout.match(/^r\d+/gm)).toEqual(['r2', 'r1']);
      // The hint's SQL is the whole fix.
      edit(fix);
      const apply = await runCli(cwd, ['apply', 'hi']);
      expect(apply.exitCode, apply.stderr).toBe(0);
      expect((await runCli(cwd, ['runs'])).stdout.match(/^r\d+/gm)).toEqual(['r3', 'r2', 'r1']);
    },
  );
});

describe('a journal this user may not write', () => {
  // SQLite opens a file its user may not write read-only without a word: `apply` ran, failed at
  // its first write and exited 1; a file it may not open at all was blamed on its directory.
  const WRITERS: readonly (readonly string[])[] = [
    ['apply', 'hi'],
    ['retry', 'r1', '--force'],
    ['cancel', 'r1'],
    ['prune'],
    ['serve', '--port', '0'],
    ['watch', '--run', 'hi'],
  ];
  const READERS: readonly (readonly string[])[] = [['runs'], ['show', 'r1'], ['logs', 'c1']];

  /** A data directory with one run, usable by nobody when root runs the tests, and the CLI as that user. */
  async function journalAndUser() {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = await runCli(cwd, ['apply', 'hi']);
    expect(apply.exitCode, apply.stderr).toBe(0);
    const asRoot = process.getuid?.() === 0;
    if (asRoot) {
      // Root writes any file: run the CLI as nobody, who owns the journal then.
      chmodSync(cwd, 0o755);
      execFileSync('chown', ['-R', 'nobody:nogroup', join(cwd, '.nixfleet')]);
    }
    const drop = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
    const cli = async (args: readonly string[]) => {
      const [program, ...rest] = [...drop, 'node', BIN, ...args];
      const result = await execa(program!, rest, { cwd, reject: false, env: { CI: 'true' }, timeout: 30_000 });
      return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
    };
    const db = join(cwd, '.nixfleet/nixfleet.db');
    return { cwd, db, cli, uid: statSync(db).uid };
  }

  it('a read-only nixfleet.db: every command that writes refuses it on opening (exit 2, its mode in the message); runs, show and logs read it', {
    timeout: 300_000,
  }, async () => {
    const { db, cli, uid } = await journalAndUser();
    chmodSync(db, 0o444);
    const before = readFileSync(db);
    for (const args of WRITERS) {
      const result = await cli(args);
      expect(result.stderr, args[0]).not.toMatch(/internal error|\n\s+at /);
      expect(result.exitCode, `${args[0]}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), args[0]).toEqual([
        `nixfleet: cannot write ${db}: permission denied (mode 444, owned by uid ${uid})`,
        '  hint: make it writable by the user running nixfleet (chmod u+w as its owner), or run nixfleet as its owner, or choose another data directory with --data-dir',
      ]);
    }
    expect(readFileSync(db).equals(before)).toBe(true);
    for (const args of READERS) {
      const result = await cli(args);
      expect(result.exitCode, `${args[0]}: ${result.stderr}`).toBe(0);
      expect(result.stderr, args[0]).toBe('');
    }
    expect((await cli(['runs'])).stdout).toMatch(/^r1\s+hi\s+COMPLETE/m);
  });

  it('a data directory it may not write: every command that writes refuses it on opening (exit 2); runs, show and logs read it', {
    timeout: 300_000,
  }, async () => {
    const { db, cli } = await journalAndUser();
    chmodSync(dirname(db), 0o555);
    for (const args of WRITERS) {
      const result = await cli(args);
      expect(result.stderr, args[0]).not.toMatch(/internal error|\n\s+at /);
      expect(result.exitCode, `${args[0]}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), args[0]).toEqual([
        `nixfleet: cannot write ${db}: it is read-only (attempt to write a readonly database)`,
        '  hint: make the data directory writable, or choose another data directory with --data-dir',
      ]);
    }
    for (const args of READERS) {
      const result = await cli(args);
      expect(result.exitCode, `${args[0]}: ${result.stderr}`).toBe(0);
      expect(result.stderr, args[0]).toMatch(
        /^nixfleet: warning: cannot write .*: it is read-only .*; showing a read-only copy$/,
      );
    }
    chmodSync(dirname(db), 0o755);
  });

  it('a data directory it may not enter (another user’s, 0700): every command names it, exit 2; none says nothing ran', {
    timeout: 300_000,
  }, async () => {
    const cwd = makeTempDir({ 'fleet.yaml': FLEET });
    expect((await runCli(cwd, ['apply', 'hi'])).exitCode).toBe(0);
    const dataDir = join(cwd, '.nixfleet');
    const asRoot = process.getuid?.() === 0;
    // Root enters any directory: nobody may not enter root's 0700 one; another user not their own 000.
    if (asRoot) chmodSync(cwd, 0o755);
    else chmodSync(dataDir, 0o000);
    const drop = asRoot ? ['setpriv', '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
    const mode = `mode ${asRoot ? '700' : '000'}, owned by uid ${statSync(dataDir).uid}`;
    try {
      for (const args of [...WRITERS, ...READERS, ['runs', '--json']]) {
        const [program, ...rest] = [...drop, 'node', BIN, ...args];
        const result = await execa(program!, rest, { cwd, reject: false, env: { CI: 'true' }, timeout: 30_000 });
        expect(result.exitCode, `${args.join(' ')}: ${result.stderr}`).toBe(2);
        expect(String(result.stderr).trimEnd().split('\n'), args.join(' ')).toEqual([
          `nixfleet: cannot enter ${dataDir}: permission denied (${mode})`,
          '  hint: run nixfleet as its owner, or let this user in (chmod or chgrp it), or choose another data directory with --data-dir',
        ]);
      }
    } finally {
      chmodSync(dataDir, 0o700);
    }
    // Nothing journaled is lost.
    expect((await runCli(cwd, ['runs'])).stdout).toMatch(/^r1\s+hi\s+COMPLETE/m);
  });

  it('a nixfleet.db it may not open in a writable directory: the message names the file and its mode, not the directory', {
    timeout: 180_000,
  }, async () => {
    const { db, cli, uid } = await journalAndUser();
    chmodSync(db, 0o000);
    const mode = `mode 000, owned by uid ${uid}`;
    const expected: Record<string, readonly string[]> = {
      apply: [
        `nixfleet: cannot write ${db}: permission denied (${mode})`,
        '  hint: make it writable by the user running nixfleet (chmod u+w as its owner), or run nixfleet as its owner, or choose another data directory with --data-dir',
      ],
      runs: [
        `nixfleet: cannot open ${db}: permission denied (${mode})`,
        '  hint: make it readable and writable by the user running nixfleet (chmod u+rw as its owner), or run nixfleet as its owner, or choose another data directory with --data-dir',
      ],
    };
    for (const [command, lines] of Object.entries(expected)) {
      const result = await cli(command === 'apply' ? ['apply', 'hi'] : ['runs']);
      expect(result.exitCode, `${command}: ${result.stderr}`).toBe(2);
      expect(result.stderr.trimEnd().split('\n'), command).toEqual(lines);
    }
  });
});
