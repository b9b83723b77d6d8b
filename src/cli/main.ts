// The `nixfleet` entry point: global flags, dispatch to one module per command, and the only
// place that turns errors into messages and exit codes (CORE-002).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { closestName } from '../domain/closest-name.js';
import { hidePassword } from '../domain/hidden-password.js';
import { type GlobalFlags, nixfleetCommand, recentRunsHint } from '../domain/nixfleet-command.js';
import type { OutputStream } from '../domain/output-stream.js';
import { type ConfigError, ConfigErrors, formatConfigError } from '../errors/config-error.js';
import { EXIT, UserError } from '../errors/user-error.js';
import { JournalError, RAISE_OPEN_FILES } from '../store/journal-error.js';
import { RecordNotFoundError } from '../store/record-not-found-error.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import type { CliIO, CommandModule, OptionSpecs } from './command.js';
import { fleetFileHint, looksLikeFleetFile } from './fleet-file-argument.js';
import { commandHelp, topLevelHelp } from './help-text.js';
import { hideOnCommandLine } from './hidden-arguments.js';

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
  file: {
    type: 'string',
    short: 'f',
    valueName: 'FILE',
    description: 'the fleet file (else $NIXFLEET_FILE, else ./fleet.yaml)',
  },
  'data-dir': {
    type: 'string',
    valueName: 'DIR',
    description: 'the journal directory (else $NIXFLEET_DATA_DIR, else settings.dataDir, else .nixfleet)',
  },
  store: {
    type: 'string',
    valueName: 'postgres://…',
    description:
      'a shared PostgreSQL journal (else $NIXFLEET_DATABASE_URL, else settings.store, else SQLite in the data directory)',
  },
  json: { type: 'boolean', default: false, description: 'machine-readable output on stdout, nothing else there' },
  color: { type: 'boolean', description: 'colours even when stdout is not a terminal' },
  'no-color': { type: 'boolean', description: 'no colours (also with NO_COLOR set)' },
  help: { type: 'boolean', short: 'h', description: 'this help; `nixfleet help COMMAND` for a command' },
  version: { type: 'boolean', short: 'V', description: 'print the version' },
} as const satisfies OptionSpecs;

const defaultIO: CliIO = { stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd() };

export async function main(argv: readonly string[], io: CliIO = defaultIO): Promise<number> {
  // Output that cannot be written is dropped and the command finishes as it would: a run is never
  // cut short by where its output goes, and the journal keeps every command's output (CORE-002).
  // A reader that went away (`nixfleet runs | head -1`) wanted no more; any other failure (a full
  // disk under `> report.json`) is said on stderr, and a command that would have exited 0 exits 1,
  // so a script notices that what it asked for is not there.
  let stdoutFailed = false;
  const failed = (reason: string) => {
    if (stdoutFailed) return;
    stdoutFailed = true;
    io.stderr.write(
      `nixfleet: cannot write to stdout (${reason}); the rest of it is dropped, and the journal keeps every command's output\n`,
    );
  };
  io.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') failed(error.code ?? error.message);
  });
  io.stderr.on('error', () => {});
  const stdout = noticingWrites(io.stdout);
  let code: number;
  const dispatched: Dispatched = {};
  try {
    code = await dispatch(argv, { ...io, stdout }, dispatched);
  } catch (error) {
    // With --json (or --renderer json) a script reads stdout: an error is one JSON object there
    // too, unless the command already wrote its own document (validate's errors, a report half
    // streamed). A stream of JSON lines (`watch`) gets it as its last line instead.
    const json = !jsonWanted(argv)
      ? 'none'
      : !stdout.written
        ? 'object'
        : dispatched.module?.jsonLines
          ? 'line'
          : 'none';
    code = reportError(error, io, json, dispatched.flags);
  }
  // A write's failure is reported after the write: wait for what was written to be done with.
  await new Promise<void>((resolve) => io.stdout.write('', () => resolve()));
  return stdoutFailed && code === EXIT.OK ? EXIT.FAILED : code;
}

/** Runs the command `argv` names; `dispatched.module` is its module once loaded. */
/** What `dispatch` learnt before an error: the command's module, once loaded, and the global flags, once parsed. */
interface Dispatched {
  module?: CommandModule;
  flags?: GlobalFlags;
}

async function dispatch(argv: readonly string[], io: CliIO, dispatched: Dispatched): Promise<number> {
  const name = argv.find((a) => !a.startsWith('-') && !isValueOfGlobalFlag(argv, a));
  if (argv.includes('--version') || argv.includes('-V')) {
    io.stdout.write(`${packageVersion()}\n`);
    return EXIT.OK;
  }
  if (name === 'help') {
    // `nixfleet help apply` is `nixfleet apply --help`.
    const topic = argv.slice(argv.indexOf(name) + 1).find((a) => !a.startsWith('-'));
    if (topic === undefined) {
      io.stdout.write(topLevelHelp(COMMANDS, GLOBAL_OPTIONS));
      return EXIT.OK;
    }
    const entry = commandEntry(topic);
    io.stdout.write(commandHelp(entry.summary, await entry.load(), GLOBAL_OPTIONS));
    return EXIT.OK;
  }
  if (name === undefined) {
    const help = argv.includes('--help') || argv.includes('-h');
    // `nixfleet --bogus`, `nixfleet -f`: the mistake is named on stderr, as after a command.
    if (!help) parseStrictly(undefined, [...argv], GLOBAL_OPTIONS);
    io.stdout.write(topLevelHelp(COMMANDS, GLOBAL_OPTIONS));
    return help ? EXIT.OK : EXIT.USAGE;
  }
  const entry = commandEntry(name);
  const module = await entry.load();
  dispatched.module = module;
  const rest = [...argv];
  rest.splice(rest.indexOf(name), 1);
  if (rest.includes('--help') || rest.includes('-h')) {
    io.stdout.write(commandHelp(entry.summary, module, GLOBAL_OPTIONS));
    return EXIT.OK;
  }
  const { values, positionals } = parseCommandArgs(name, rest, module);
  // CORE-012: the journal's password stays off the command line every user can read (`ps`).
  if (typeof values.store === 'string') hideOnCommandLine(values.store, hidePassword(values.store));
  if (positionals.length > module.maxPositionals) {
    const file = positionals.find(looksLikeFleetFile);
    throw new UserError(
      `\`${name}\` takes ${module.maxPositionals === 0 ? 'no arguments' : 'one argument'}, got ${positionals.map((word) => `\`${word}\``).join(' ')}`,
      { hint: file === undefined ? `usage: nixfleet ${module.usage}` : fleetFileHint(name, file, positionals) },
    );
  }
  const flags = {
    file: values.file as string | undefined,
    dataDir: values['data-dir'] as string | undefined,
    store: values.store as string | undefined,
  };
  dispatched.flags = flags;
  const noColor = values['no-color'] === true || io.env.NO_COLOR !== undefined || values.color === false;
  return module.run({
    io,
    positionals,
    values,
    global: {
      ...flags,
      json: values.json === true,
      color: !noColor && (values.color === true || io.stdout.isTTY === true),
    },
  });
}

function parseCommandArgs(name: string, args: string[], module: CommandModule) {
  const parsed = parseStrictly({ name, usage: module.usage }, args, { ...GLOBAL_OPTIONS, ...module.options });
  refuseRepeatedFlags(name, parsed.tokens, { ...GLOBAL_OPTIONS, ...module.options });
  refuseEmptyValues(name, parsed.tokens);
  return parsed;
}

/**
 * `--data-dir ''` (a script's unset variable) would be the current directory, `-f ''` the
 * directory itself: no flag takes an empty value, so none is guessed at.
 */
function refuseEmptyValues(
  name: string,
  tokens: readonly { kind: string; name?: string; value?: string | undefined }[],
): void {
  const empty = tokens.find((token) => token.kind === 'option' && token.value === '');
  if (empty === undefined) return;
  throw new UserError(`${name}: --${empty.name} is given an empty value`, {
    hint: `give --${empty.name} a value, or leave it out (an unset shell variable gives an empty one)`,
  });
}

/**
 * `args` parsed against `options`, or a UserError naming what is wrong: the flag unknown (with a
 * did-you-mean), its value missing, or taken for a flag. `command` is the command the flags came
 * with; undefined for flags before any command (`nixfleet --bogus`), then the messages have no
 * command's name and the hints point to `nixfleet --help`.
 */
function parseStrictly<T extends OptionSpecs>(
  command: { name: string; usage: string } | undefined,
  args: string[],
  options: T,
) {
  const prefix = command ? `${command.name}: ` : '';
  const flagList = command ? `\`nixfleet help ${command.name}\` lists every flag` : 'see `nixfleet --help`';
  const usage = command ? `usage: nixfleet ${command.usage}` : 'see `nixfleet --help`';
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true, tokens: true });
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as { code?: string }).code;
    const unknown = /Unknown option '(-{1,2})([^']*)'/.exec(message);
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && unknown) {
      const close = closestName(unknown[2]!, Object.keys(options));
      throw new UserError(`${prefix}unknown flag \`${unknown[1]}${unknown[2]}\``, {
        hint: close ? `did you mean \`--${close}\`? (${flagList})` : flagList,
      });
    }
    // `-f` as the last word: parseArgs says `Option '-f, --file <value>' argument missing`.
    const missing = /Option '(?:-[^,']*, )?--([^ ']+) <value>' argument missing/.exec(message);
    if (missing) {
      const long = missing[1]!;
      const spec = options[long];
      const given = args.at(-1)?.startsWith('-') ? args.at(-1)! : `--${long}`;
      throw new UserError(`${prefix}\`${given}\` needs a value (${given} ${spec?.valueName ?? 'VALUE'})`, {
        hint: command ? usage : `${spec ? `--${long}: ${spec.description}; ` : ''}see \`nixfleet --help\``,
      });
    }
    // `--limit -1`: parseArgs will not take a value that starts with `-` after a space.
    const ambiguous = /Option '(-{1,2}[^']*)' argument is ambiguous/.exec(message);
    if (ambiguous) {
      const flag = ambiguous[1]!;
      const next = args[args.indexOf(flag) + 1] ?? '';
      const long = flag.startsWith('--')
        ? flag
        : `--${Object.entries(options).find(([, spec]) => (spec as { short?: string }).short === flag.slice(1))?.[0] ?? flag.slice(1)}`;
      throw new UserError(`${prefix}\`${flag}\` is followed by \`${next}\`, which reads as a flag, not its value`, {
        hint: `give ${flag} its value (a value that starts with \`-\` is written \`${long}=${next}\`); ${usage}`,
      });
    }
    throw new UserError(`${prefix}${message.replace(/\. To specify a positional argument.*$/s, '')}`, {
      hint: usage,
    });
  }
}

/** A value given twice would silently keep the last (`--on web1 --on web2` runs on web2 only). */
function refuseRepeatedFlags(
  name: string,
  tokens: readonly { kind: string; name?: string; value?: string | undefined }[],
  options: OptionSpecs,
): void {
  const given = new Map<string, string[]>();
  for (const token of tokens) {
    if (token.kind !== 'option') continue;
    const flag = token.name ?? '';
    given.set(flag, [...(given.get(flag) ?? []), token.value ?? '']);
  }
  for (const [flag, values] of given) {
    if (options[flag]?.type !== 'string' || values.length < 2) continue;
    throw new UserError(
      `${name}: --${flag} given ${values.length} times (${values.map((v) => `\`${v}\``).join(', ')})`,
      {
        hint: flag === 'on' ? 'give it once; one selector names several hosts: --on web1,web2' : `give --${flag} once`,
      },
    );
  }
  if (given.has('color') && given.has('no-color')) {
    throw new UserError(`${name}: --color and --no-color contradict each other`, { hint: 'give one of them' });
  }
}

function commandEntry(name: string): CommandEntry {
  const entry = COMMANDS[name];
  if (entry) return entry;
  const close = closestName(name, Object.keys(COMMANDS));
  throw new UserError(`unknown command \`${name}\``, {
    hint: close ? `did you mean \`${close}\`? Run \`nixfleet help\` for the list` : 'run `nixfleet help` for the list',
  });
}

/**
 * Whether stdout was asked to be JSON, read from the words themselves: an error may come before or
 * while they are parsed (`nixfleet --json --bogus`). `--json`, or `--renderer json` (`apply`,
 * `retry`), whose reader waits for the run's report there (CORE-002, renderers). Words after `--`
 * are arguments, not flags.
 */
function jsonWanted(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  const words = end === -1 ? argv : argv.slice(0, end);
  return words.some(
    (word, i) => word === '--json' || word === '--renderer=json' || (word === 'json' && words[i - 1] === '--renderer'),
  );
}

/** `stream` as the commands get it: the same, noting whether anything was written to it. */
function noticingWrites(stream: OutputStream): OutputStream & { readonly written: boolean } {
  let written = false;
  return {
    get written() {
      return written;
    },
    get isTTY() {
      return stream.isTTY;
    },
    get columns() {
      return stream.columns;
    },
    get rows() {
      return stream.rows;
    },
    write(chunk, callback) {
      if (chunk.length !== 0) written = true;
      return stream.write(chunk, callback);
    },
    on: (event, listener) => stream.on(event, listener),
    once: (event, listener) => stream.once(event, listener),
    off: (event, listener) => stream.off(event, listener),
  };
}

function isValueOfGlobalFlag(argv: readonly string[], arg: string): boolean {
  const i = argv.indexOf(arg);
  const prev = argv[i - 1];
  return prev === '-f' || prev === '--file' || prev === '--data-dir' || prev === '--store';
}

/**
 * What the user is told about an error: `message` and `hint` as printed on stderr
 * (`nixfleet: <message>`, `  hint: <hint>`), or `text` when it is printed otherwise.
 */
interface ErrorReport {
  readonly exitCode: number;
  readonly message: string;
  readonly hint: string | null;
  /** The stderr text, when it is not `nixfleet: <message>` and its hint. */
  readonly text?: string;
  /** A fleet file's errors, each as `validate --json` gives them (CORE-005). */
  readonly errors?: readonly ConfigError[];
}

/**
 * The one place an error becomes a message and an exit code (CORE-002): its text on stderr and,
 * with `--json` or `--renderer json`, the same on stdout: `object` when nothing is there yet,
 * `{"error": {message, hint, exitCode}}`, so stdout always holds one JSON document; `line` after
 * a stream of JSON lines (`watch`), its last line `{"type": "error", message, hint, exitCode}`.
 */
function reportError(
  error: unknown,
  io: CliIO,
  json: 'object' | 'line' | 'none',
  flags: GlobalFlags | undefined,
): number {
  const report = errorReport(error, flags);
  io.stderr.write(
    report.text ?? `nixfleet: ${report.message}\n${report.hint === null ? '' : `  hint: ${report.hint}\n`}`,
  );
  if (json !== 'none') {
    const { message, hint, exitCode, errors } = report;
    const fields = { message, hint, exitCode, ...(errors ? { errors } : {}) };
    io.stdout.write(`${JSON.stringify(json === 'line' ? { type: 'error', ...fields } : { error: fields })}\n`);
  }
  return report.exitCode;
}

function errorReport(error: unknown, flags: GlobalFlags | undefined): ErrorReport {
  if (error instanceof ConfigErrors) {
    const message = `${error.errors.length} error(s) in the fleet file; nothing was run`;
    const lines = error.errors.map((e) => `${formatConfigError(e)}\n`).join('');
    return { exitCode: EXIT.USAGE, message, hint: null, text: `${lines}${message}\n`, errors: error.errors };
  }
  if (error instanceof RecordNotFoundError) {
    return { exitCode: EXIT.USAGE, message: error.message, hint: recentRunsHint(flags) };
  }
  if (error instanceof StoreUnavailableError) {
    if (error.when === 'in use') {
      // What was under way stopped, as on a SQLite journal that failed mid-run (CORE-012).
      return {
        exitCode: EXIT.FAILED,
        message: error.message,
        hint: `once the server is back, \`${nixfleetCommand('runs', flags)}\` shows what was recorded and \`${nixfleetCommand('retry RUN', flags)}\` runs the rest`,
      };
    }
    return {
      exitCode: EXIT.USAGE,
      message: error.message,
      hint: 'check --store, $NIXFLEET_DATABASE_URL or settings.store, and that the server is running and reachable',
    };
  }
  if (error instanceof JournalError) {
    // A data directory that cannot be used as found is the user's to fix (exit 2); a write that
    // failed or a journal replaced mid-work stopped that work (exit 1). See CORE-003.
    return {
      exitCode: error.kind === 'unusable' ? EXIT.USAGE : EXIT.FAILED,
      message: error.message,
      hint: error.hint,
    };
  }
  if (error instanceof UserError) {
    return { exitCode: error.exitCode, message: error.message, hint: error.hint ?? null };
  }
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'EMFILE' || code === 'ENFILE') {
    // Out of file descriptors (`ulimit -n 60`) while nixfleet loads its own modules, before
    // anything ran: the machine's limit, not a bug. Running out later fails only the commands
    // that could not start (CORE-001).
    return {
      exitCode: EXIT.USAGE,
      message: `too many open files (${(error as Error).message})`,
      hint: RAISE_OPEN_FILES,
    };
  }
  if (code === 'ERR_MODULE_NOT_FOUND') {
    // One of nixfleet's own files or packages: an install with a part missing, or Node's resolver
    // that ran out of file descriptors as above and took the file for missing.
    return {
      exitCode: EXIT.USAGE,
      message: `cannot load a part of nixfleet (${(error as Error).message.split('\n')[0]})`,
      hint: 'install nixfleet again (`npm ci` in its checkout); if the limit on open files is low (`ulimit -n`), raise it',
    };
  }
  // Only a bug in nixfleet itself gets here, so the stack is worth showing.
  const message = 'internal error (please report it)';
  return {
    exitCode: EXIT.FAILED,
    message: `${message}: ${error instanceof Error ? error.message : String(error)}`,
    hint: null,
    text: `nixfleet: ${message}\n${error instanceof Error ? error.stack : String(error)}\n`,
  };
}

function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}
