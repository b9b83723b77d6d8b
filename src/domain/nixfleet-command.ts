// The nixfleet commands that hints and `next:` lines suggest (see CORE-002, hints), spelt so that
// pasted into the same shell they reach the same fleet file and journal as the command that
// printed them: the global flags that chose those are repeated. Environment variables
// ($NIXFLEET_FILE and the like) need no repeating, the shell still has them.
import { hidePassword } from './hidden-password.js';
import { shellQuote } from './shell-quote.js';

/** The global flags that choose the fleet file and the journal, as given on the command line. */
export interface GlobalFlags {
  /** -f/--file. */
  readonly file?: string;
  /** --data-dir. */
  readonly dataDir?: string;
  /** --store, a PostgreSQL URL (see CORE-012). */
  readonly store?: string;
}

/**
 * `nixfleet`, the flags in `flags`, then `rest` (written as it should appear: `show r2`). A
 * store's password is never printed: it shows as `***`, for the user to put back.
 */
export function nixfleetCommand(rest: string, flags: GlobalFlags = {}): string {
  const words = ['nixfleet'];
  // Standard input (`-f /dev/stdin`, see config/fleet-text.ts) cannot be read a second time.
  if (flags.file !== undefined && flags.file !== '/dev/stdin') words.push(flag('-f', '--file', flags.file));
  if (flags.dataDir !== undefined) words.push(flag('--data-dir', '--data-dir', flags.dataDir));
  if (flags.store !== undefined) words.push(flag('--store', '--store', hidePassword(flags.store)));
  words.push(rest);
  return words.join(' ');
}

/**
 * `name value`; a value that starts with `-` as `long=value`, the one way the command line takes
 * it (a separate word would read as a flag, CORE-002).
 */
function flag(name: string, long: string, value: string): string {
  return value.startsWith('-') ? `${long}=${shellQuote(value)}` : `${name} ${shellQuote(value)}`;
}

/** Where a run id that was not found can be looked up. */
export function recentRunsHint(flags: GlobalFlags = {}): string {
  return `see \`${nixfleetCommand('runs', flags)}\` for recent runs`;
}
