// The local lifeline (see CORE-011): one small `sh` per nixfleet process, in its own session, that
// holds the list of process groups and pids nixfleet started (local command groups, ssh clients,
// ssh masters) and reads a pipe whose only writer is nixfleet. When nixfleet dies, even by
// SIGKILL, the kernel closes that pipe; the lifeline reads end-of-file and kills everything still
// on its list. A command that ends normally is taken off the list first, so nothing it left in the
// background on purpose is touched while nixfleet lives.
import { type ChildProcess, spawn } from 'node:child_process';
import { delimiter, isAbsolute } from 'node:path';
import { TAG_KILL_PASSES, TAG_KILL_QUIET_PASSES } from '../../domain/tagged-processes.js';
import { inheritedEnvironment } from '../command-environment.js';

/**
 * `+ g<pgid>` / `+ p<pid>` / `+ t<tag>` add, `- …` remove. At end-of-file groups get SIGKILL
 * (nothing is left to wait for them), single pids (ssh masters) SIGTERM, which lets ssh remove its
 * control socket, and processes carrying a held tag in their environment (Linux) SIGKILL, pass
 * after pass until TAG_KILL_QUIET_PASSES passes in a row find none (what they fork during one pass
 * escapes it), at most TAG_KILL_PASSES passes. It ignores the terminal's signals (awk inherits
 * that): a closed terminal (SIGHUP) or Ctrl-C must not take it down before nixfleet has cleaned
 * up. awk keeps the list, a set with constant-time adds and removes: the shell string it replaced
 * was rewritten on every line, and with the masters of a few hundred ssh hosts held it burned
 * seconds of a core per run (CORE-011, "The local lifeline").
 */
const LIFELINE_SCRIPT = `trap '' HUP INT TERM PIPE
awk 'BEGIN { n = split(ENVIRON["NIXFLEET_HELD"], ids, " "); for (i = 1; i <= n; i++) held[ids[i]] = 1 }
$1 == "+" { held[$2] = 1 } $1 == "-" { delete held[$2] } END { for (id in held) print id }' | {
  tags=
  while read -r id; do
    case $id in
      g*) kill -KILL "-\${id#g}" 2>/dev/null ;;
      p*) kill -TERM "\${id#p}" 2>/dev/null ;;
      t*) tags="$tags \${id#t}" ;;
    esac
  done
  [ -n "$tags" ] && cd /proc 2>/dev/null || exit 0
  patterns=$(for t in $tags; do echo "NIXFLEET_PROCESS_TAG=$t"; done)
  pass=0 quiet=0
  while [ $pass -lt ${TAG_KILL_PASSES} ] && [ $quiet -lt ${TAG_KILL_QUIET_PASSES} ]; do
    pass=$((pass + 1)) quiet=$((quiet + 1))
    for e in $(grep -lsF "$patterns" [0-9]*/environ); do
      kill -KILL "\${e%/environ}" 2>/dev/null && quiet=0
    done
  done
}
`;

let lifeline: ChildProcess | undefined;
/** Whether nixfleet's normal end (`endWithNixfleet`) is listened for: once a lifeline started. */
let endListened = false;
/** How long nixfleet's normal end waits for its lifeline to end; a bound, not a pause. */
const END_WAIT_MS = 5_000;
/**
 * What the lifeline holds, as nixfleet told it (`g<pgid>`, `p<pid>`, `t<tag>`). A lifeline that
 * ends while nixfleet lives takes its list with it, so its successor is given this one.
 */
const held = new Set<string>();
/**
 * Lifelines started in place of one that ended. Each ending has a cause from outside (a kill, a
 * Ctrl-C during its fork, CORE-011); this only keeps a /bin/sh that dies at once from looping.
 */
let replacements = 0;
/** Lines for the lifeline, written once the microtasks run; one started meanwhile got the whole list. */
let unwritten = '';
const MAX_REPLACEMENTS = 10;

/**
 * The list a lifeline starts with travels in its environment, so it holds it from its first
 * instruction: written on its pipe after the spawn, it would be lost if nixfleet died in between.
 * Up to this size (an environment string may be 128 KiB); a longer one goes down the pipe.
 */
const MAX_LIST_IN_ENVIRONMENT = 100_000;

/**
 * Where the lifeline finds its awk and grep: the absolute directories of nixfleet's PATH, then the
 * usual system ones it lacks. A PATH that names only what the ops run (a service unit's, a pure
 * build shell's) left the lifeline without awk: it ended at once, each time, and a killed
 * nixfleet left its commands running (CORE-011, "The local lifeline"). A relative entry is
 * dropped, so an `awk` in the working directory never stands in for the system's.
 */
const SYSTEM_DIRECTORIES = ['/usr/local/bin', '/usr/bin', '/bin', '/usr/sbin', '/sbin', '/run/current-system/sw/bin'];
function lifelinePath(): string {
  const own = (process.env.PATH ?? '').split(delimiter).filter((entry) => isAbsolute(entry));
  return [...new Set([...own, ...SYSTEM_DIRECTORIES])].join(delimiter);
}

function startLifeline(ids: readonly string[]): ChildProcess {
  const list = ids.join(' ');
  const inEnvironment = list.length <= MAX_LIST_IN_ENVIRONMENT;
  const child = spawn('/bin/sh', ['-c', LIFELINE_SCRIPT], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
    env: { ...inheritedEnvironment(), PATH: lifelinePath(), NIXFLEET_HELD: inEnvironment ? list : '' },
  });
  if (!inEnvironment) child.stdin?.write(ids.map((id) => `+ ${id}\n`).join(''));
  // Neither the process nor its pipe may keep nixfleet's event loop alive (until endWithNixfleet).
  child.unref();
  child.stdin?.on('error', () => {});
  (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
  child.on('error', () => {});
  child.on('exit', () => {
    // Ended while nixfleet lives: killed from outside, or by a Ctrl-C while it was being forked.
    // Its awk, which holds the list, goes with it, so that its successor is the only one (it
    // leads its own group); the successor starts now, with the whole list, if anything is held.
    if (child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    if (lifeline !== child) return;
    lifeline = undefined;
    if (held.size > 0 && replacements < MAX_REPLACEMENTS) {
      replacements++;
      startWithList();
    }
  });
  return child;
}

/** Adds `ids` to the list (`+`) or takes them off it (`-`), and tells the lifeline. */
function send(op: '+' | '-', ids: readonly string[]): void {
  for (const id of ids) {
    if (op === '+') held.add(id);
    else held.delete(id);
  }
  if (!lifeline?.stdin) {
    startWithList();
    return;
  }
  // The lines of one run of callbacks go in one write. They are written when the microtasks run,
  // before any later turn of the event loop: a command's `go` (sent to its spawner once the
  // lifeline holds its group, CORE-011) goes out in a later turn, so never ahead of its hold.
  if (unwritten === '') queueMicrotask(writeLines);
  for (const id of ids) unwritten += `${op} ${id}\n`;
}

function writeLines(): void {
  const lines = unwritten;
  unwritten = '';
  if (lifeline?.stdin?.writable) lifeline.stdin.write(lines);
}

/** A new lifeline, if anything is held, told the whole list (which holds what was just added). */
function startWithList(): void {
  if (held.size === 0) return;
  lifeline = startLifeline([...held]);
  if (!endListened) {
    endListened = true;
    process.on('beforeExit', endWithNixfleet);
  }
}

/**
 * At nixfleet's normal end (its event loop has nothing left to do) the lifeline is told to end,
 * as nixfleet's exit would tell it, and nixfleet waits for it, at most END_WAIT_MS. Like every
 * process Node starts, it holds what nixfleet inherited without close-on-exec (a deploy script's
 * `flock` on fd 200) and nixfleet's working directory: left to end after nixfleet, it kept them a
 * moment after nixfleet had exited, and a script that took its lock again at once found it busy
 * (CORE-011, "The local lifeline"). Should more work come after all, the next hold starts a new one.
 */
function endWithNixfleet(): void {
  const child = lifeline;
  if (child === undefined) return;
  // Its end is no loss to replace.
  lifeline = undefined;
  child.stdin?.end();
  child.ref();
  const bound = setTimeout(() => child.unref(), END_WAIT_MS);
  child.once('exit', () => clearTimeout(bound));
}

/** `t<tag>` for a tag the lifeline can hold (hexadecimal, as nixfleet makes them). */
function tagIds(tag: string): string[] {
  return /^[0-9a-f]+$/.test(tag) ? [`t${tag}`] : [];
}

/** Kill this process group (SIGKILL) if nixfleet dies before `releaseGroup`. */
export function holdGroup(pgid: number): void {
  send('+', [`g${Math.trunc(pgid)}`]);
}

export function releaseGroup(pgid: number): void {
  send('-', [`g${Math.trunc(pgid)}`]);
}

/**
 * A local command (see CORE-011): kill its group, and (Linux) every process whose environment
 * holds NIXFLEET_PROCESS_TAG=<tag> (what it moved out of its group), if nixfleet dies before
 * `releaseCommand`. One write for both: this is on the path of every local command.
 */
export function holdCommand(pgid: number, tag: string): void {
  send('+', [`g${Math.trunc(pgid)}`, ...tagIds(tag)]);
}

export function releaseCommand(pgid: number, tag: string): void {
  send('-', [`g${Math.trunc(pgid)}`, ...tagIds(tag)]);
}

/**
 * Kill (SIGKILL, Linux) every process whose environment holds NIXFLEET_PROCESS_TAG=<tag> if
 * nixfleet dies before `releaseTag`: an ssh master from before it is started until its pid is
 * held (CORE-011, "The ssh master").
 */
export function holdTag(tag: string): void {
  send('+', tagIds(tag));
}

export function releaseTag(tag: string): void {
  send('-', tagIds(tag));
}

/** Stop this process (SIGTERM) if nixfleet dies before `releaseProcess`: ssh masters. */
export function holdProcess(pid: number): void {
  send('+', [`p${Math.trunc(pid)}`]);
}

export function releaseProcess(pid: number): void {
  send('-', [`p${Math.trunc(pid)}`]);
}
