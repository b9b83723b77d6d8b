// Reads the secrets a run uses, on the controller, once per run and only those its selected
// commands use (see CORE-010). Any problem is a UserError naming the secret and its source, raised
// before the run is journaled, so nothing runs. Values stay in memory: nothing here writes them.
import { readFileSync, type Stats, statSync } from 'node:fs';
import { execa } from 'execa';
import { MAX_ENV_STRING_BYTES } from '../../domain/environment-limits.js';
import { signalProcessGroup } from '../../domain/process-group.js';
import { UserError } from '../../errors/user-error.js';
import type { Registry, SecretDeclaration } from '../../registry/types.js';
import { inheritedEnvironment } from '../command-environment.js';
import { START_GATE } from '../process-record.js';
import { holdGroup, releaseGroup } from '../transports/lifeline.js';
import { MIN_SECRET_LENGTH, redactionPatterns, redactText } from './secret-redactor.js';
import { secretVariables } from './secret-variables.js';

/** A secret command that takes longer than this is stuck (waiting for a passphrase, a network). */
export const SECRET_COMMAND_TIMEOUT_MS = 60_000;

/**
 * The values of `names`, by name. It runs inside `startRun`, before the run is journaled, for every
 * way a run starts (apply, retry, watch, the dashboard). Asynchronous so that a slow secret command
 * (a vault login, up to SECRET_COMMAND_TIMEOUT_MS) never stops `serve` or `watch` from answering.
 */
export async function resolveSecrets(
  registry: Registry,
  names: Iterable<string>,
  env: NodeJS.ProcessEnv = process.env,
  abort?: AbortSignal,
): Promise<Map<string, string>> {
  const values = new Map<string, string>();
  // CORE-010: a failing secret command's last stderr line is quoted in the refusal, which reaches
  // the terminal, `--json` and the dashboard; the values it may hold (an `env:` secret it needed,
  // one read before it) are `***` there as in output.
  const inherited = inheritedSecretValues(registry, [env]);
  const hide = (text: string) => redactText(text, redactionPatterns([...values.values(), ...inherited]));
  for (const name of names) {
    if (values.has(name)) continue;
    const declaration = registry.secrets.get(name);
    if (!declaration) {
      throw new UserError(`unknown secret \`${name}\``, { hint: 'declare it under `secrets:` in the fleet file' });
    }
    // A run cancelled while its secrets are read (a Ctrl-C, CORE-010) needs none: it never starts.
    if (abort?.aborted) break;
    const value = await readValue(declaration, registry, env, abort, hide);
    if (abort?.aborted) break;
    checkValue(declaration, value);
    values.set(name, value);
  }
  return values;
}

/**
 * The values of the `env:` secrets whose variables are set in any of `envs`, whether the run uses
 * them or not (CORE-010, redaction): a local command inherits nixfleet's environment (CORE-001),
 * so it holds every such variable, and one that prints its environment (`env`, a tool's debug
 * output) printed the value into the output file, the journal and the dashboard whenever no
 * command of the run used the secret, since only resolved values were redacted. Never refused:
 * a secret the run does not use need not be valid (unset, or too short to redact: left out).
 */
export function inheritedSecretValues(registry: Registry, envs: readonly NodeJS.ProcessEnv[]): string[] {
  const values = new Set<string>();
  for (const variable of secretVariables(registry)) {
    for (const env of envs) {
      const value = env[variable];
      if (value !== undefined && value.length >= MIN_SECRET_LENGTH) values.add(value);
    }
  }
  return [...values];
}

async function readValue(
  declaration: SecretDeclaration,
  registry: Registry,
  env: NodeJS.ProcessEnv,
  abort: AbortSignal | undefined,
  hide: (text: string) => string,
): Promise<string> {
  const { source } = declaration;
  const fail = (problem: string, hint: string): never => {
    throw new UserError(`secret \`${declaration.name}\` (${describeSource(declaration)}): ${problem}`, { hint });
  };
  switch (source.kind) {
    case 'env': {
      const value = env[source.variable];
      if (value === undefined) {
        return fail(
          `environment variable ${source.variable} is not set`,
          `export ${source.variable} before running nixfleet`,
        );
      }
      return value;
    }
    case 'file': {
      let stat: Stats;
      try {
        stat = statSync(source.path);
      } catch (error) {
        return fail(fileProblem(error), `create it, or fix \`secrets.${declaration.name}.file\``);
      }
      // Outside the try: its own refusal is not a file that could not be read.
      if (!stat.isFile()) {
        return fail(
          `is ${stat.isDirectory() ? 'a directory' : 'not a regular file'}`,
          `point \`secrets.${declaration.name}.file\` at the file that holds the value`,
        );
      }
      const { mode } = stat;
      // Like ssh with a private key: a file others may read or write is not a secret any more.
      if ((mode & 0o077) !== 0) {
        const octal = (mode & 0o777).toString(8).padStart(4, '0');
        return fail(`is accessible by group or others (mode ${octal})`, `chmod 600 ${source.path}`);
      }
      try {
        return trimTrailingNewlines(readFileSync(source.path, 'utf8'));
      } catch (error) {
        return fail(fileProblem(error), `make ${source.path} readable by the user running nixfleet`);
      }
    }
    case 'command': {
      // In a process group of its own, held by the lifeline (CORE-011): the timeout, the end of
      // the shell and a dead nixfleet end everything it started. execa's own timeout signalled
      // the shell alone and then waited for its output to close, which a background child kept
      // open past the limit. Behind the start gate of local commands: the lifeline hears of the
      // group in a microtask, and a nixfleet killed before that must leave nothing running.
      const child = execa(registry.settings.shell, ['-c', `${START_GATE}\n${source.command}`], {
        cwd: registry.rootDir,
        env: inheritedEnvironment(env),
        extendEnv: false,
        stdin: 'pipe',
        detached: true,
        maxBuffer: 1024 * 1024,
        reject: false,
        stripFinalNewline: false,
      });
      const group = child.pid;
      let timedOut = false;
      const endGroup = () => {
        if (group !== undefined) signalProcessGroup(group, 'SIGKILL');
      };
      if (group !== undefined) holdGroup(group);
      // A later turn of the event loop than the hold's write: the gate opens after it.
      setImmediate(() => child.stdin?.end('\n'));
      child.stdin?.on('error', () => {});
      const timer = setTimeout(() => {
        timedOut = true;
        endGroup();
      }, SECRET_COMMAND_TIMEOUT_MS);
      // Once the shell is done, what it left behind may still hold its output open.
      child.on('exit', endGroup);
      // Cancelled meanwhile: it is not waited for (a vault login may wait for a minute).
      abort?.addEventListener('abort', endGroup, { once: true });
      const result = await child;
      clearTimeout(timer);
      abort?.removeEventListener('abort', endGroup);
      if (group !== undefined) releaseGroup(group);
      if (abort?.aborted) return '';
      const hint = `run the command by hand in ${registry.rootDir} to see what it needs`;
      if (timedOut) return fail(`did not finish within ${SECRET_COMMAND_TIMEOUT_MS / 1000}s`, hint);
      if (result.isMaxBuffer) return fail('printed more than 1 MB', hint);
      if (result.exitCode === undefined && result.signal === undefined) {
        const cause = result.cause instanceof Error ? result.cause.message : String(result.cause);
        return fail(`could not run (${cause.split('\n')[0]})`, hint);
      }
      if (result.exitCode !== 0) {
        const said = hide(lastLine(String(result.stderr)));
        const how =
          result.exitCode === undefined ? `was killed by ${result.signal}` : `failed with exit code ${result.exitCode}`;
        return fail(said === '' ? how : `${how}: ${said}`, hint);
      }
      return trimTrailingNewlines(String(result.stdout));
    }
  }
}

/** One environment string's limit less room for the longest variable name (NIXFLEET_SECRET_...=). */
const MAX_SECRET_BYTES = MAX_ENV_STRING_BYTES - 256;

function checkValue(declaration: SecretDeclaration, value: string): void {
  const where = `secret \`${declaration.name}\` (${describeSource(declaration)})`;
  if (value.includes('\0')) {
    throw new UserError(`${where}: the value contains a NUL byte, which no environment variable can carry`, {
      hint: 'encode it (e.g. base64) and decode it in the command',
    });
  }
  // Linux holds one environment string (NAME=value) to 128 KiB (MAX_ARG_STRLEN); a larger value
  // would fail every command that gets it, after the run started.
  const bytes = Buffer.byteLength(value);
  if (bytes > MAX_SECRET_BYTES) {
    throw new UserError(
      `${where}: the value is ${bytes} bytes; an environment variable holds at most ${MAX_SECRET_BYTES} (Linux)`,
      { hint: 'keep a large value (a certificate bundle) in a file on the host, or pass its path as the secret' },
    );
  }
  if (value.length < MIN_SECRET_LENGTH) {
    throw new UserError(
      `${where}: the value is ${value.length} character(s) long; values shorter than ${MIN_SECRET_LENGTH} cannot be redacted from output safely`,
      { hint: `use a longer secret, or pass this value as a plain \`env:\` entry if it is not secret` },
    );
  }
}

export function describeSource(declaration: SecretDeclaration): string {
  const { source } = declaration;
  if (source.kind === 'env') return `env ${source.variable}`;
  if (source.kind === 'file') return `file ${source.path}`;
  return `command \`${source.command}\``;
}

function fileProblem(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EACCES') return 'cannot be read (permission denied)';
  return `cannot be read (${(error as Error).message.split('\n')[0]})`;
}

function trimTrailingNewlines(text: string): string {
  return text.replace(/(\r?\n)+$/, '');
}

function lastLine(text: string): string {
  const lines = text.trim().split('\n');
  return (lines.at(-1) ?? '').trim().slice(0, 200);
}
