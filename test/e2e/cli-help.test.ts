// The command line (see CORE-002): every flag of every command is in its --help with a
// description, `nixfleet help CMD` is the same text, a mistyped flag gets a did-you-mean, and
// read-only commands in a folder with no journal say so and create nothing.
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

const COMMANDS = ['init', 'validate', 'list', 'schema', 'plan', 'apply', 'watch', 'serve', 'runs', 'show', 'logs'];
const MORE = ['retry', 'cancel', 'prune'];

describe('help', { timeout: 120_000 }, () => {
  it('lists every command, and every command’s help lists each of its flags with a description', async () => {
    const dir = makeTempDir();
    const top = await runCli(dir, ['help']);
    expect(top.exitCode).toBe(0);
    for (const name of [...COMMANDS, ...MORE]) {
      expect(top.stdout).toMatch(new RegExp(`^  ${name}\\s+\\S`, 'm'));
      const module = (await import(`../../src/cli/commands/${name}.ts`)) as {
        options: Record<string, { short?: string; description: string }>;
      };
      const help = await runCli(dir, [name, '--help']);
      expect(help.exitCode, name).toBe(0);
      expect(help.stdout).toMatch(new RegExp(`^usage: nixfleet ${name}`, 'm'));
      for (const [flag, spec] of Object.entries(module.options)) {
        expect(spec.description, `${name} --${flag}`).toMatch(/\w/);
        const line = help.stdout
          .split('\n')
          .find((l) => l.startsWith('  ') && (l.includes(`--${flag} `) || l.endsWith(`--${flag}`)));
        expect(line, `${name} --help lists --${flag}`).toBeDefined();
        expect(line).toContain(spec.description);
      }
      // Every value is named for what it takes: `--batch VALUE` told nobody it takes `3` or `25%`.
      expect(help.stdout, name).not.toMatch(/--\S+ VALUE\b/);
      // The global flags are listed (and described) on every command's help.
      expect(help.stdout).toMatch(/-f, --file FILE\s+the fleet file/);
      expect(help.stdout).toMatch(/--data-dir DIR\s+the journal directory/);
    }
  });

  it('`nixfleet help apply` is apply’s help', async () => {
    const dir = makeTempDir();
    const viaHelp = await runCli(dir, ['help', 'apply']);
    const viaFlag = await runCli(dir, ['apply', '--help']);
    expect(viaHelp.exitCode).toBe(0);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    expect(viaHelp.stdout).toMatch(/--concurrency N\s+most hosts running a stage at once/);
    expect(viaHelp.stdout).toMatch(/--junit FILE\s+also write a JUnit XML report/);
    expect(viaHelp.stdout).toMatch(/--batch N\|N%\s+run in batches of N hosts/);
    expect(viaHelp.stdout).toMatch(/--canary SEL\|N\s+these hosts/);
    expect(viaHelp.stdout).toMatch(/--max-failures N\|N%\s+stop starting hosts/);
  });

  it('`nixfleet help aply` suggests the command', async () => {
    const result = await runCli(makeTempDir(), ['help', 'aply']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toContain('unknown command `aply`');
    expect(result.stderr).toContain('did you mean `apply`?');
  });
});

describe('unknown flags', { timeout: 60_000 }, () => {
  it('get a did-you-mean from the command’s and the global flags, exit 2', async () => {
    const dir = makeTempDir();
    const typo = await runCli(dir, ['apply', '--concurency', '2']);
    expect(typo.exitCode).toBe(2);
    expect(typo.stderr).toContain('nixfleet: apply: unknown flag `--concurency`');
    expect(typo.stderr).toContain('did you mean `--concurrency`?');
    const global = await runCli(dir, ['runs', '--data-dri', 'x']);
    expect(global.stderr).toContain('did you mean `--data-dir`?');
    const far = await runCli(dir, ['plan', '--zzzzzz']);
    expect(far.exitCode).toBe(2);
    expect(far.stderr).toContain('`nixfleet help plan` lists every flag');
    expect(far.stderr).not.toContain('did you mean');
  });

  it('before the command, an unknown flag or a missing value is one line on stderr, not the whole help, exit 2', async () => {
    const dir = makeTempDir();
    for (const [args, line, hint] of [
      [['--bogus'], 'nixfleet: unknown flag `--bogus`', 'see `nixfleet --help`'],
      [['--jsn'], 'nixfleet: unknown flag `--jsn`', 'did you mean `--json`? (see `nixfleet --help`)'],
      [['-f'], 'nixfleet: `-f` needs a value (-f FILE)', 'see `nixfleet --help`'],
      [['--data-dir'], 'nixfleet: `--data-dir` needs a value (--data-dir DIR)', 'see `nixfleet --help`'],
      [['--json', '--file'], 'nixfleet: `--file` needs a value (--file FILE)', 'see `nixfleet --help`'],
    ] as const) {
      const result = await runCli(dir, args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      const [first, second, ...more] = result.stderr.split('\n');
      expect(first).toBe(line);
      expect(second).toMatch(/^ {2}hint: /);
      expect(second).toContain(hint);
      expect(more).toEqual([]);
      // With --json, the same words as one error object (CORE-002); else nothing.
      const error = { message: line.replace(/^nixfleet: /, ''), hint: second?.replace(/^ {2}hint: /, ''), exitCode: 2 };
      expect(result.stdout, args.join(' ')).toBe(
        (args as readonly string[]).includes('--json') ? JSON.stringify({ error }) : '',
      );
    }
    // After a command, the same mistakes name the command.
    const after = await runCli(dir, ['validate', '-f']);
    expect(after.exitCode).toBe(2);
    expect(after.stderr).toContain('nixfleet: validate: `-f` needs a value (-f FILE)');
    // No flag mistake: the general help, as before.
    const bare = await runCli(dir, ['--json']);
    expect(bare.exitCode).toBe(2);
    expect(bare.stdout).toContain('usage: nixfleet [global options] <command> [args]');
  });

  it('a value that starts with `-` after a space is named, with the `--flag=value` form, exit 2', async () => {
    const dir = makeTempDir();
    const negative = await runCli(dir, ['runs', '--limit', '-1']);
    expect(negative.exitCode).toBe(2);
    expect(negative.stderr).toContain(
      'nixfleet: runs: `--limit` is followed by `-1`, which reads as a flag, not its value',
    );
    expect(negative.stderr).toContain('is written `--limit=-1`');
    expect(negative.stderr).not.toContain('ambiguous');
    const short = await runCli(dir, ['apply', '-f', '-x.yaml']);
    expect(short.exitCode).toBe(2);
    expect(short.stderr).toContain('is written `--file=-x.yaml`');
    // Written that way, the value reaches the command's own check.
    const written = await runCli(dir, ['runs', '--limit=-1']);
    expect(written.exitCode).toBe(2);
    expect(written.stderr).toContain('--limit must be a whole number of at least 1, got `-1`');
  });

  it('an empty value (a script’s unset variable) is refused, exit 2, and nothing is created', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  hi: { run: echo hi }\n' });
    for (const args of [
      ['apply', 'hi', '--data-dir', ''],
      ['apply', 'hi', '--data-dir='],
      ['plan', '-f', ''],
      ['runs', '--store', ''],
    ]) {
      const result = await runCli(dir, args);
      const flag = args
        .find((arg) => arg.startsWith('-'))!
        .replace(/=$/, '')
        .replace(/^-f$/, '--file');
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(`nixfleet: ${args[0]}: ${flag} is given an empty value`);
    }
    expect(readdirSync(dir)).toEqual(['fleet.yaml']);
  });
});

describe('arguments a command does not take', { timeout: 60_000 }, () => {
  it('are named, and a YAML file among them gets the same call with -f, exit 2, nothing created', async () => {
    // No fleet file here: a fleet file given as a target is refused before one is looked for.
    const dir = makeTempDir();
    const cases: [readonly string[], string, string][] = [
      [['validate', 'prod.yaml'], '`validate` takes no arguments, got `prod.yaml`', 'nixfleet validate -f prod.yaml'],
      [['show', 'r1', 'x.yml'], '`show` takes one argument, got `r1` `x.yml`', 'nixfleet show r1 -f x.yml'],
      [
        ['apply', 'my fleet.yaml'],
        '`my fleet.yaml` is not a pipeline or op: it looks like a fleet file',
        "nixfleet apply -f 'my fleet.yaml' [TARGET]",
      ],
      [
        ['plan', 'prod.YML'],
        '`prod.YML` is not a pipeline or op: it looks like a fleet file',
        'nixfleet plan -f prod.YML [TARGET]',
      ],
      [['list', 'prod.yaml'], 'cannot list `prod.yaml`', 'nixfleet list -f prod.yaml'],
    ];
    for (const [args, message, call] of cases) {
      const result = await runCli(dir, args);
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr.trimEnd().split('\n')).toEqual([
        `nixfleet: ${message}`,
        `  hint: the fleet file is given with -f: ${call}`,
      ]);
    }
    const runs = await runCli(dir, ['runs', 'a', 'b']);
    expect(runs.exitCode).toBe(2);
    expect(runs.stderr.trimEnd().split('\n')).toEqual([
      'nixfleet: `runs` takes no arguments, got `a` `b`',
      '  hint: usage: nixfleet runs [--limit N]',
    ]);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('read-only commands with no journal', { timeout: 60_000 }, () => {
  it('runs, show and logs say there is none and create nothing', async () => {
    const dir = makeTempDir();
    const runs = await runCli(dir, ['runs']);
    expect(runs.exitCode).toBe(0);
    expect(runs.stdout).toContain('no journal in .nixfleet: nothing has run here yet');
    const json = await runCli(dir, ['runs', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([]);
    const show = await runCli(dir, ['show', 'r1']);
    expect(show.exitCode).toBe(2);
    expect(show.stderr).toContain('no journal in .nixfleet: nothing has run here yet');
    expect(show.stderr).toContain('--data-dir DIR');
    const logs = await runCli(dir, ['logs', 'r1']);
    expect(logs.exitCode).toBe(2);
    expect(logs.stderr).toContain('no journal in .nixfleet');
    expect(existsSync(join(dir, '.nixfleet'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});

describe('a fleet file named with -f or $NIXFLEET_FILE that is not there', { timeout: 120_000 }, () => {
  // It alone says where the journal is: `cancel r1 -f prod.yml` (for prod.yaml) cancelled r1 of
  // the working directory's journal, which may be another fleet's, and `prune` pruned it.
  it('is refused by the commands that find the journal through it (exit 2), and the journal here is untouched', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  hi: { run: echo hi }\n' });
    expect((await runCli(dir, ['apply', 'hi'])).exitCode).toBe(0);
    const refusal = [
      'nixfleet: no fleet file at prod.yml',
      '  hint: the journal is found through the fleet file: check -f and $NIXFLEET_FILE, or name the journal itself with --data-dir DIR or --store URL',
    ];
    for (const args of [['runs'], ['show', 'r1'], ['logs', 'c1'], ['cancel', 'r1'], ['prune', '--older-than', '0']]) {
      const flagged = await runCli(dir, [...args, '-f', 'prod.yml']);
      expect(flagged.exitCode, args[0]).toBe(2);
      expect(flagged.stdout, args[0]).toBe('');
      expect(flagged.stderr.trimEnd().split('\n'), args[0]).toEqual(refusal);
      const variable = await runCli(dir, args, { env: { NIXFLEET_FILE: 'prod.yml' } });
      expect(variable.exitCode, args[0]).toBe(2);
      expect(variable.stderr.trimEnd().split('\n'), args[0]).toEqual(refusal);
    }
    // The journal named outright is read as before; the run prune would have removed is there.
    const named = await runCli(dir, ['runs', '-f', 'prod.yml', '--data-dir', '.nixfleet']);
    expect(named.exitCode, named.stderr).toBe(0);
    expect(named.stdout).toMatch(/^r1\s+hi\s+COMPLETE/m);
  });
});
