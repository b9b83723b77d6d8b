// The `nixfleet` entry point: global flags, dispatch to one module per command, and the only
// place that turns errors into messages and exit codes (CORE-002).
import { parseArgs } from 'node:util';
import { ConfigErrors, formatConfigError } from '../errors/config-error.js';
import { EXIT, UserError } from '../errors/user-error.js';
import { JournalError } from '../store/journal-error.js';
import { RecordNotFoundError } from '../store/record-not-found-error.js';
import type { CliIO, CommandModule, OptionSpecs } from './command.js';

interface CommandEntry {
  readonly summary: string;
  readonly load: () => Promise<CommandModule>;
}

const COMMANDS: Readonly<Record<string, CommandEntry>> = {
  init: { summary: 'write a commented starter fleet.yaml', load: () => import('./commands/init.js') },
  validate: { summary: 'check the fleet file (schema and semantics)', load: () => import('./commands/validate.js') },
  list: { summary: 'list hosts, ops or pipelines', load: () => import('./commands/list.js') },
  schema: { summary: 'print the fleet file JSON Schema', load: () => import('./commands/schema.js') },
  plan: {
    summary: 'show stages × hosts with rendered commands; runs nothing',
    load: () => import('./commands/plan.js'),
  },
  apply: { summary: 'run a pipeline or a single op', load: () => import('./commands/apply.js') },
  watch: {
    summary: 'live-reload the fleet file (and apply after each good save)',
    load: () => import('./commands/watch.js'),
  },
  serve: { summary: 'the live dashboard and State Sync endpoint', load: () => import('./commands/serve.js') },
  runs: { summary: 'past and running pipeline runs, newest first', load: () => import('./commands/runs.js') },
  show: { summary: 'one run: hosts × stages with statuses', load: () => import('./commands/show.js') },
  logs: { summary: 'stored output of a command or a run', load: () => import('./commands/logs.js') },
  retry: { summary: 'run again what did not complete', load: () => import('./commands/retry.js') },
  cancel: { summary: 'ask a running pipeline to cancel', load: () => import('./commands/cancel.js') },
  prune: { summary: 'apply retention now', load: () => import('./commands/prune.js') },
};

const GLOBAL_OPTIONS = {
  file: { type: 'string', short: 'f' },
  'data-dir': { type: 'string' },
  json: { type: 'boolean', default: false },
  color: { type: 'boolean' },
  'no-color': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean', short: 'V' },
} as const satisfies OptionSpecs;

const defaultIO: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };

export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  try {
    return await dispatch(argv, io);
  } catch (error) {
    return reportError(error, io);
  }
}

async function dispatch(argv: readonly string[], io: CliIO): Promise<number> {
  const name = argv.find((a) => !a.startsWith('-') && !isValueOfGlobalFlag(argv, a));
  if (argv.includes('--version') || argv.includes('-V')) {
    io.stdout.write(`${await packageVersion()}\n`);
    return EXIT.OK;
  }
  if (name === undefined || name === 'help') {
    io.stdout.write(topLevelHelp());
    return name === undefined && !argv.includes('--help') && !argv.includes('-h') ? EXIT.USAGE : EXIT.OK;
  }
  const entry = COMMANDS[name];
  if (!entry) {
    throw new UserError(`unknown command \`${name}\``, { hint: suggestCommand(name) });
  }
  const module = await entry.load();
  const rest = [...argv];
  rest.splice(rest.indexOf(name), 1);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(entry, module));
    return EXIT.OK;
  }
  const { values, positionals } = parseCommandArgs(name, rest, module);
  if (positionals.length > module.maxPositionals) {
    throw new UserError(
      `\`${name}\` takes at most ${module.maxPositionals} argument(s), got: ${positionals.join(' ')}`,
      {
        hint: `usage: nixfleet ${module.usage}`,
      },
    );
  }
  const noColor = values['no-color'] === true || io.env.NO_COLOR !== undefined || values.color === false;
  return module.run({
    io,
    positionals,
    values,
    global: {
      file: values.file as string | undefined,
      dataDir: values['data-dir'] as string | undefined,
      json: values.json === true,
      color: !noColor && (values.color === true || io.stdout.isTTY === true),
    },
  });
}

function parseCommandArgs(name: string, args: string[], module: CommandModule) {
  try {
    return parseArgs({
      args,
      options: { ...GLOBAL_OPTIONS, ...module.options },
      allowPositionals: true,
      strict: true,
    });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    throw new UserError(`${name}: ${message.replace(/\. To specify a positional argument.*$/s, '')}`, {
      hint: `usage: nixfleet ${module.usage}`,
    });
  }
}

function isValueOfGlobalFlag(argv: readonly string[], arg: string): boolean {
  const i = argv.indexOf(arg);
  const prev = argv[i - 1];
  return prev === '-f' || prev === '--file' || prev === '--data-dir';
}

function reportError(error: unknown, io: CliIO): number {
  if (error instanceof ConfigErrors) {
    for (const e of error.errors) io.stderr.write(`${formatConfigError(e)}\n`);
    io.stderr.write(`${error.errors.length} error(s) in the fleet file; nothing was run\n`);
    return EXIT.USAGE;
  }
  if (error instanceof RecordNotFoundError) {
    io.stderr.write(`nixfleet: ${error.message}\n  hint: see \`nixfleet runs\` for recent runs\n`);
    return EXIT.USAGE;
  }
  if (error instanceof JournalError) {
    // A data directory that cannot be used as found is the user's to fix (exit 2); a write that
    // failed or a journal replaced mid-work stopped that work (exit 1). See CORE-003.
    io.stderr.write(`nixfleet: ${error.message}\n  hint: ${error.hint}\n`);
    return error.kind === 'unusable' ? EXIT.USAGE : EXIT.FAILED;
  }
  if (error instanceof UserError) {
    io.stderr.write(`nixfleet: ${error.message}\n`);
    if (error.hint) io.stderr.write(`  hint: ${error.hint}\n`);
    return error.exitCode;
  }
  // Only a bug in nixfleet itself gets here, so the stack is worth showing.
  io.stderr.write(
    `nixfleet: internal error (please report it)\n${error instanceof Error ? error.stack : String(error)}\n`,
  );
  return EXIT.FAILED;
}

function topLevelHelp(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((n) => n.length));
  const lines = Object.entries(COMMANDS).map(([n, e]) => `  ${n.padEnd(width)}  ${e.summary}`);
  return [
    'nixfleet: declarative operations across a fleet of hosts',
    '',
    'usage: nixfleet [-f FILE] [--data-dir DIR] [--json] [--no-color] <command> [args]',
    '',
    'commands:',
    ...lines,
    '',
    'Run `nixfleet <command> --help` for a command’s options.',
    '',
  ].join('\n');
}

function commandHelp(entry: CommandEntry, module: CommandModule): string {
  const opts = Object.entries(module.options).map(([flag, spec]) => {
    const short = spec.short ? `-${spec.short}, ` : '';
    return `  ${short}--${flag}${spec.type === 'string' ? ' VALUE' : ''}`;
  });
  return [`nixfleet ${module.usage}`, '', entry.summary, '', ...(opts.length ? ['options:', ...opts, ''] : [])]
    .join('\n')
    .concat('global: -f/--file FILE, --data-dir DIR, --json, --no-color\n');
}

function suggestCommand(name: string): string {
  const close = Object.keys(COMMANDS).find((c) => c.startsWith(name.slice(0, 2)));
  return close
    ? `did you mean \`${close}\`? Run \`nixfleet --help\` for the list`
    : 'run `nixfleet --help` for the list';
}

async function packageVersion(): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
