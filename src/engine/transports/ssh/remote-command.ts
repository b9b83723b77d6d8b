// The command line the remote login shell runs (see CORE-007). sshd hands ssh's command string to
// the user's login shell with `-c`, so everything we send is one POSIX shell line whose every
// variable piece is quoted: env values, cwd and the op's command arrive byte for byte.
import { cdPath } from '../../../config/cd-path.js';
import { shellQuote } from '../../../domain/shell-quote.js';
import { remoteLifeline, signalTagged } from './lifeline.js';
import { preambleReader, secretExports } from './secret-preamble.js';

export interface RemoteCommandOptions {
  readonly command: string;
  readonly env: Readonly<Record<string, string>>;
  readonly cwd?: string;
  /** The shell that runs the op's command on the host (settings.shell). */
  readonly shell: string;
  /** A per-command token; the remote side prints it with its process group id before anything else. */
  readonly startToken: string;
  /**
   * Secret variables: only their names are in the line; the values come on stdin (see
   * secret-preamble.ts and CORE-010), and the op's command then gets /dev/null as stdin.
   */
  readonly privateEnv?: Readonly<Record<string, string>>;
  /** NIXFLEET_PROCESS_TAG of this execution (already in `env`): the lifeline also kills by it. */
  readonly tag?: string;
}

/**
 * The start gate (CORE-011): the remote line first waits for one line on stdin, which nixfleet
 * writes once the lifeline holds the ssh client and the journal has recorded it. A nixfleet
 * killed before that closes ssh's stdin: `read` sees end-of-file and nothing runs.
 */
export const REMOTE_START_GATE = 'read -r _ || exit 125;';

/**
 * `<gate> printf '<token> %s\n' "$$" >&2; <lifeline>; cd <cwd> && export K=V ... && <shell> -c <command>;
 * nixfleet_rc=$?; printf '<token> end %s\n' "$nixfleet_rc" >&2; exit "$nixfleet_rc"`
 * (`env K=V ... <shell>` when a name is one the login shell manages itself, see below).
 * sshd starts the login shell in a new session (setsid), so `$$` is also the process group id,
 * which the op's shell and everything it starts share: killing the group later reaches the whole
 * command tree (see CORE-007, timeouts). The tokens go to stderr so stdout stays the command's
 * own. The end line says the op's shell exited, and with what: sshd keeps the session open while
 * anything holds its output, so `cmd &` would otherwise keep it open until the background job
 * ends (CORE-001: `cmd &` never hangs a run).
 */
export function buildRemoteCommand(options: RemoteCommandOptions): string {
  const parts = [REMOTE_START_GATE, `printf '%s %s\\n' ${shellQuote(options.startToken)} "$$" >&2;`];
  // The stdin contract (CORE-010, CORE-011): the gate's line, then the secret preamble, then the
  // lifeline takes the rest of the channel, and the op's command gets /dev/null.
  const secret = options.privateEnv !== undefined && Object.keys(options.privateEnv).length > 0;
  if (secret) parts.push(preambleReader(options.privateEnv ?? {}));
  parts.push(remoteLifeline(options.tag));
  const assignments = Object.entries(options.env).map(([name, value]) => shellQuote(`${name}=${value}`));
  // `export` is a builtin, `env` one more program start on every command (CORE-007, "Against bare
  // OpenSSH"); a name the login shell treats specially keeps `env`, which passes it as given.
  const exportable = Object.keys(options.env).every(isPlainVariable);
  // After the `cd`, as with `env`: the op's HOME or CDPATH must not change where `cd` goes.
  if (options.cwd !== undefined && options.cwd !== '') parts.push(`cd ${cdPath(options.cwd)} &&`);
  if (exportable && assignments.length > 0) parts.push(`export ${assignments.join(' ')} &&`);
  if (secret) parts.push(secretExports(Object.keys(options.privateEnv ?? {}), (name) => !isPlainVariable(name)));
  if (!exportable) parts.push(`env ${assignments.join(' ')}`);
  parts.push(shellQuote(options.shell), '-c', `${shellQuote(options.command)};`);
  parts.push(
    `nixfleet_rc=$?; printf '%s end %s\\n' ${shellQuote(options.startToken)} "$nixfleet_rc" >&2; exit "$nixfleet_rc"`,
  );
  return parts.join(' ');
}

/**
 * Names bash keeps read-only (export fails) or computes on every use (RANDOM, SECONDS: the
 * exported value would not be the one given); dash and other POSIX shells have none beyond these.
 */
const SHELL_MANAGED = new Set([
  'BASHOPTS',
  'BASHPID',
  'BASH_ARGV0',
  'BASH_COMMAND',
  'BASH_SUBSHELL',
  'BASH_VERSINFO',
  'EPOCHREALTIME',
  'EPOCHSECONDS',
  'EUID',
  'FUNCNAME',
  'GROUPS',
  'HISTCMD',
  'LINENO',
  'PPID',
  'RANDOM',
  'SECONDS',
  'SHELLOPTS',
  'SRANDOM',
  'UID',
]);

/** A name `export NAME=value` sets in any POSIX login shell exactly as `env NAME=value` would. */
function isPlainVariable(name: string): boolean {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) && !SHELL_MANAGED.has(name);
}

/**
 * Stops a remote command's process group: `first` now, and when anything is still alive after
 * `graceMs`, SIGKILL. Prints the signal that ended the group (TERM or KILL) so the caller can
 * report it. Where `sleep` takes no fractions the wait loop ends at once and SIGKILL follows early.
 */
export function buildReaperCommand(pgid: number, first: 'TERM' | 'KILL', graceMs: number, tag?: string): string {
  const group = `-${Math.trunc(pgid)}`;
  const steps = Math.max(1, Math.ceil(graceMs / 100));
  // CORE-011: what left the group but carries the tag gets `first` with it and SIGKILL at the end.
  const tagged = (signal: 'TERM' | 'KILL') => (tag === undefined ? [] : [signalTagged(tag, signal)]);
  return [
    groupAlive(Math.trunc(pgid)),
    `kill -${first} ${group} 2>/dev/null;`,
    ...tagged(first),
    `i=0; while nixfleet_alive && [ $i -lt ${steps} ]; do sleep 0.1 2>/dev/null; i=$((i+1)); done;`,
    // Asked before the tagged processes get SIGKILL: they are the group's members too, and once
    // killed they would be gone whether or not the grace period ran out.
    `if nixfleet_alive; then kill -KILL ${group} 2>/dev/null; r=KILL; else r=${first}; fi;`,
    ...tagged('KILL'),
    'echo "$r"',
  ].join(' ');
}

/**
 * A shell function, `nixfleet_alive`, that succeeds while a process of group `pgid` has not
 * exited. `kill -0` alone also counts zombies, and on a host whose init never reaps (a container
 * without one) a member whose parent died stays a zombie for good: every timeout waited out the
 * grace period and reported SIGKILL (CORE-007). Where `/proc` has the processes' states (Linux),
 * the group field and state of `/proc/PID/stat` decide, read with builtins (after the last `) `:
 * state, parent, group); elsewhere `kill -0` is all there is.
 */
function groupAlive(pgid: number): string {
  return [
    'nixfleet_alive() {',
    `kill -0 -${pgid} 2>/dev/null || return 1;`,
    '[ -r /proc/self/stat ] || return 0;',
    'for s in /proc/[0-9]*/stat; do',
    'read -r l 2>/dev/null <"$s" || continue;',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
    'set -- ${l##*) };',
    `[ "$3" = ${pgid} ] && [ "$1" != Z ] && [ "$1" != X ] && return 0;`,
    'done; return 1; };',
  ].join(' ');
}
