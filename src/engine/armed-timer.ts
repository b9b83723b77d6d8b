// The armed rollback timer's scripts, run on the host through any transport (see CORE-009).
// POSIX sh only: `mkdir`, `mv`, `sleep`, `nohup`, `awk`, and `setsid` when the host has it. The timer
// and nixfleet race for one file with `mv`, which is atomic: whoever renames `token` first decides
// whether the rollback runs on the host (`fired`) or not (`claimed`), never both.
import { shellQuote } from '../domain/shell-quote.js';

/** The marker that starts the line nixfleet reads back; anything an rc file prints is ignored. */
const MARK = 'nixfleet-armed:';

/**
 * Where the timers' state directories are on the host: private, under the remote home. Never a
 * shared directory: under `/tmp` (once the fallback for an unset HOME) another user could own
 * `.nixfleet` first, rename the timer's directory and put one with a rollback of their own in its
 * place, which the timer would run as the deploying user (CORE-009). `armScript` refuses instead.
 */
const TIMERS = '"$HOME/.nixfleet/armed"';

/** The line `armScript` prints, and exits 1 after, on a host whose HOME is not an absolute path. */
export const NO_PRIVATE_HOME =
  'HOME is not an absolute path on this host; the timer needs a private directory under it';

/** The timer's state directory on the host, one per op command. */
export function timerDirectory(name: string): string {
  return `${TIMERS}/${shellQuote(name)}`;
}

/**
 * Copies the rollback's output to the timer's `log` with every secret value the timer holds
 * hidden (whole, and each line of 6 characters or more of a multi-line value), as nixfleet's own
 * redactor hides it (CORE-010): every occurrence of each, occurrences that overlap as one `***`.
 * The log stays on the host when nixfleet cannot follow the rollback, so no value may be in it.
 * The values are those of `NIXFLEET_SECRET_*` (the op's secrets) and of `variables`, the variables
 * `env:` secrets are read from, which a local host's timer inherits from nixfleet's environment
 * whether the op uses them or not.
 *
 * awk reads lines, so a multi-line value is found across the lines it spans: the last `L - 1`
 * lines are held back (`L`, the most lines of any value), and each new line is tried as the last
 * of each value (its first part ending a held line, its middle parts whole lines, its last part
 * beginning the new one); a match becomes one `***` on one line. Its lines of 6 characters or more
 * are also hidden wherever they are (`s`). Per line (`red`): `e[j]` is where the longest
 * occurrence starting at `j` ends; a run of overlapping ones becomes one `***`. Literal matches
 * (`index`), bytes (`LC_ALL=C`). Without awk the output is dropped, with a line saying so, and
 * still read to its end: a rollback must not die of a closed pipe.
 */
const redactAwk = (variables: readonly string[]) =>
  [
    'function red(line,  i, j, at, p, found, out, copied, from, to, e) { split("", e); found = 0',
    '  for (i = 1; i <= n; i++) { at = 0',
    '    while ((p = index(substr(line, at + 1), s[i])) > 0) { at += p; found = 1',
    '      if (!(at in e) || e[at] < at + length(s[i])) e[at] = at + length(s[i]) } }',
    '  if (!found) return line',
    '  out = ""; copied = 1; from = 0',
    '  for (j = 1; j <= length(line); j++) {',
    '    if (from && j >= to) { out = out substr(line, copied, from - copied) "***"; copied = to; from = 0 }',
    '    if (j in e) { if (!from) { from = j; to = e[j] } else if (e[j] > to) to = e[j] } }',
    '  if (from) { out = out substr(line, copied, from - copied) "***"; copied = to }',
    '  return out substr(line, copied) }',
    'function ends(a, b) { return length(a) >= length(b) && substr(a, length(a) - length(b) + 1) == b }',
    'function starts(a, b) { return b == "" || index(a, b) == 1 }',
    'function whole(  v, k, j, i, ok) { for (v = 1; v <= nv; v++) { k = vk[v]; j = nb - k + 1; if (j < 1) continue',
    '    ok = ends(b[j], vp[v, 1]) && starts(b[nb], vp[v, k])',
    '    for (i = 2; ok && i < k; i++) ok = b[j + i - 1] == vp[v, i]',
    '    if (ok) { b[j] = substr(b[j], 1, length(b[j]) - length(vp[v, 1])) "***" substr(b[nb], length(vp[v, k]) + 1); nb = j } } }',
    'function emit(  i) { print red(b[1]); for (i = 1; i < nb; i++) b[i] = b[i + 1]; nb-- }',
    `BEGIN { n = 0; nv = 0; nb = 0; L = 1; split("${variables.filter((name) => VARIABLE_NAME.test(name)).join(' ')}", listed, " ")`,
    '  for (i in listed) named[listed[i]] = 1',
    '  for (k in ENVIRON) if (k ~ /^NIXFLEET_SECRET_/ || k in named) { m = split(ENVIRON[k], part, "\\n")',
    '    if (m > 1) { nv++; vk[nv] = m; if (m > L) L = m; for (i = 1; i <= m; i++) vp[nv, i] = part[i] }',
    '    for (i = 1; i <= m; i++) { v = part[i]; if (length(v) >= 6) s[++n] = v',
    '      if (sub(/\\r$/, "", v) && length(v) >= 6) s[++n] = v } } }',
    '{ b[++nb] = $0; whole(); if (nb >= L) emit() }',
    'END { while (nb > 0) emit() }',
  ].join('\n');
/** A name the awk program may hold as it is: the fleet file's schema takes no other (CORE-010). */
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const redactedLog = (variables: readonly string[]) =>
  `{ if command -v awk >/dev/null 2>&1; then LC_ALL=C awk '${redactAwk(variables)}'; ` +
  `else echo "[nixfleet] no awk on this host: the rollback's output is not kept"; fi; cat >/dev/null; }`;

/** The timer of one op command: its directory's name, unique per arming (`nonce`, hex). */
export function timerName(runId: string, commandId: string, nonce: string): string {
  return `${runId}-${commandId}-${nonce}`;
}

/** Bytes of randomness in a timer's name (`nonce`, twice as many hex digits). */
export const TIMER_NONCE_BYTES = 6;

/** Whole seconds, at least one: POSIX `sleep` takes no fractions. */
export function timerSeconds(delayMs: number): number {
  return Math.max(1, Math.ceil(delayMs / 1000));
}

/**
 * Whose a timer is: the op on the host, armed through the journal whose id (`Journal.id`,
 * CORE-003) it names. A later arming of the same op on the same host through the same journal
 * takes it over (CORE-009).
 */
export interface TimerOwner {
  readonly hostId: string;
  readonly opId: string;
  readonly journalId: string;
}
export function timerOwner(hostId: string, opId: string, journalId: string): TimerOwner {
  return { hostId, opId, journalId };
}

/**
 * A journal id as long as any (CORE-003, the journal's id: 32 hex digits), for measuring the
 * arming line at plan time, when no journal is open (command-size.ts).
 */
export const LONGEST_JOURNAL_ID = 'f'.repeat(32);

/** The timer's `owner` file: `web1 switch 3f…` (ids hold no spaces). */
export function ownerLine(owner: TimerOwner): string {
  return `${owner.hostId} ${owner.opId} ${owner.journalId}`;
}

/** The line a fired timer's `log` holds when it could not enter the op's directory. */
export const CANNOT_ENTER = '[nixfleet] the rollback did not run: it cannot enter its directory';

/** What a timer is left with. */
export interface TimerSpec {
  readonly delayMs: number;
  /** settings.shell, which runs the rollback. */
  readonly shell: string;
  /** The rendered rollback. */
  readonly rollback: string;
  readonly owner: TimerOwner;
  /** The variables `env:` secrets are read from: their values are redacted from `log` too. */
  readonly secretVariables: readonly string[];
}

/**
 * Leaves a detached timer that, after the delay, renames `token` to `fired` and runs the rollback
 * (kept in the file `rollback`) with `shell` in the op's working directory and environment
 * (inherited from this script), plus `NIXFLEET_ROLLBACK_OF` (the op command's id, as a rollback
 * nixfleet runs has it), its output in `log` and its exit status in `exit`. While it waits it is in
 * `/`, not in the op's directory: a mount there is not kept busy by a timer (CORE-009). When that
 * directory can no longer be entered (gone, renamed), the rollback is not run anywhere else: `log`
 * says so and `exit` is 1, for a person to look at. Prints
 * `nixfleet-armed:armed` once it is set.
 *
 * First it takes over any earlier timer of the same journal, host and op (`owner`, e.g. `web1
 * switch 3f…`) that is still waiting: a run of this journal that died or was killed before it
 * confirmed or undid its change. That timer is claimed, so it never fires into this run's change
 * (which this timer now guards); each one is printed as `superseded <name>`. Local hosts share one
 * home, hence the host; journals share hosts, hence the journal: another journal's timer guards a
 * change its own nixfleet may still confirm, and is left to it. A timer an older nixfleet left
 * (`web1 switch`, no journal) is taken over as that nixfleet would have (CORE-009).
 */
export function armScript(name: string, spec: TimerSpec): string {
  const { delayMs, shell, rollback, owner } = spec;
  const timer =
    'cd /; sleep "$3"; mv "$1/token" "$1/fired" 2>/dev/null || exit 0; ' +
    'if cd "$2" 2>/dev/null; then NIXFLEET_ROLLBACK_OF=$NIXFLEET_COMMAND_ID; export NIXFLEET_ROLLBACK_OF; ' +
    `{ "$4" "$1/rollback" 2>&1 </dev/null; echo "$?" >"$1/exit.tmp"; } | ${redactedLog(spec.secretVariables)} >"$1/log"; ` +
    `else echo "${CANNOT_ENTER} $2" >"$1/log"; echo 1 >"$1/exit.tmp"; fi; ` +
    'mv "$1/exit.tmp" "$1/exit"';
  // What an older nixfleet wrote to `owner`: the host and op, no journal.
  const legacy = `${owner.hostId} ${owner.opId}`;
  return [
    `case $HOME in /*) ;; *) echo ${shellQuote(NO_PRIVATE_HOME)}; exit 1 ;; esac`,
    'umask 077',
    `for o in ${TIMERS}/*; do`,
    `  case $(cat "$o/owner" 2>/dev/null) in ${shellQuote(ownerLine(owner))}|${shellQuote(legacy)}) ;; *) continue ;; esac`,
    '  if mv "$o/token" "$o/claimed" 2>/dev/null; then',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
    '    rm -rf "$o"; echo "superseded ${o##*/}"',
    '  fi',
    'done',
    `d=${timerDirectory(name)}`,
    // The command waits in the private directory, not on the timer's command line, where `ps`
    // would show it (and any secret rendered into it) to every user for the whole delay.
    `mkdir -p "$d" && printf '%s\n' ${shellQuote(rollback)} >"$d/rollback" && printf '%s' ${shellQuote(ownerLine(owner))} >"$d/owner" && : >"$d/token" || exit 1`,
    'w=$(pwd)',
    // setsid takes the timer out of the op's process group and session, so stopping the op (a
    // timeout, a cancel) or the end of the ssh session cannot stop the timer with it.
    'if command -v setsid >/dev/null 2>&1; then s=setsid; else s=; fi',
    `nohup $s ${shellQuote(shell)} -c ${shellQuote(timer)} nixfleet-armed "$d" "$w" ${timerSeconds(delayMs)} ${shellQuote(shell)} </dev/null >/dev/null 2>&1 &`,
    `echo ${MARK}armed`,
  ].join('\n');
}

const STATUS = [
  'if [ -e "$d/token" ]; then echo MARKarmed',
  'elif [ -e "$d/exit" ]; then echo "MARKdone $(cat "$d/exit")"; cat "$d/log" 2>/dev/null; rm -rf "$d"',
  'elif [ -e "$d/fired" ]; then echo MARKrunning',
  'else echo MARKmissing; fi',
]
  .join('\n')
  .replaceAll('MARK', MARK);

/** Takes the token if the timer has not: the timer will do nothing. Otherwise reports like statusScript. */
export function claimScript(name: string): string {
  return [
    `d=${timerDirectory(name)}`,
    `if mv "$d/token" "$d/claimed" 2>/dev/null; then rm -rf "$d"; echo ${MARK}claimed; exit 0; fi`,
    STATUS,
  ].join('\n');
}

/** What the timer did; once its rollback has finished, prints its output and removes the directory. */
export function statusScript(name: string): string {
  return [`d=${timerDirectory(name)}`, STATUS].join('\n');
}

export type TimerReply =
  | { readonly kind: 'armed' | 'claimed' | 'running' | 'missing' }
  | { readonly kind: 'done'; readonly exitCode: number | null; readonly log: string };

/** The reply of a script above, or undefined when the output carries no marker line. */
export function parseTimerReply(output: string): TimerReply | undefined {
  const start = output.startsWith(MARK) ? 0 : output.indexOf(`\n${MARK}`) + 1;
  if (start === 0 && !output.startsWith(MARK)) return undefined;
  const end = output.indexOf('\n', start);
  const line = output.slice(start + MARK.length, end === -1 ? undefined : end).trim();
  const [kind, code] = line.split(' ');
  if (kind === 'done') {
    const exitCode = /^[0-9]+$/.test(code ?? '') ? Number(code) : null;
    return { kind, exitCode, log: end === -1 ? '' : output.slice(end + 1) };
  }
  if (kind === 'armed' || kind === 'claimed' || kind === 'running' || kind === 'missing') return { kind };
  return undefined;
}
