// Processes that left their command's process group (`setsid`, daemons) still carry its
// environment: each command runs with NIXFLEET_PROCESS_TAG=<random> set, and on Linux
// /proc/<pid>/environ shows it, so timeouts, kills, the lifeline and recovery can find them (see
// CORE-011). A process that clears or replaces its environment is not found.
import { readdirSync, readFileSync } from 'node:fs';

export const PROCESS_TAG_VARIABLE = 'NIXFLEET_PROCESS_TAG';

/** Linux: running processes whose environment holds NIXFLEET_PROCESS_TAG=<tag>; [] elsewhere. */
export function taggedProcesses(tag: string): number[] {
  return processesByTag([tag]).get(tag) ?? [];
}

/**
 * Linux: the running processes carrying each of `tags`, found in one look at /proc however many
 * tags are asked for: each process's environment is read once and its NIXFLEET_PROCESS_TAG values
 * are looked up among them. A tag no process carries has no entry; all are empty elsewhere.
 */
export function processesByTag(tags: Iterable<string>): Map<string, number[]> {
  const wanted = new Set([...tags].filter((tag) => tag !== ''));
  const found = new Map<string, number[]>();
  if (process.platform !== 'linux' || wanted.size === 0) return found;
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    try {
      const carried = tagsIn(readFileSync(`/proc/${entry}/environ`)).filter((tag) => wanted.has(tag));
      if (carried.length === 0 || !isRunning(entry)) continue;
      for (const tag of new Set(carried)) {
        const pids = found.get(tag);
        if (pids === undefined) found.set(tag, [Number(entry)]);
        else pids.push(Number(entry));
      }
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

const TAG_ASSIGNMENT = Buffer.from(`${PROCESS_TAG_VARIABLE}=`);

/** Every NIXFLEET_PROCESS_TAG value in an environ (NUL-separated NAME=value entries). */
function tagsIn(environ: Buffer): string[] {
  const tags: string[] = [];
  for (let at = environ.indexOf(TAG_ASSIGNMENT); at !== -1; at = environ.indexOf(TAG_ASSIGNMENT, at + 1)) {
    // Only at the start of an entry: not inside another variable's name or value.
    if (at > 0 && environ[at - 1] !== 0) continue;
    const start = at + TAG_ASSIGNMENT.length;
    const end = environ.indexOf(0, start);
    tags.push(environ.toString('utf8', start, end === -1 ? environ.length : end));
  }
  return tags;
}

/** Sends `signal` to every tagged process; how many there were. */
export function signalTaggedProcesses(tag: string, signal: NodeJS.Signals): number {
  const pids = taggedProcesses(tag);
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // Exited meanwhile.
    }
  }
  return pids.length;
}

/**
 * How many passes of SIGKILL a kill by tag makes at most, here and in the lifelines' shell loops.
 * A pass kills what one look at /proc found; what those processes forked meanwhile is found by the
 * next. Once the forker itself is gone, the second pass normally finds only its last children and
 * the next two nothing (CORE-011, "Processes that leave the group").
 */
export const TAG_KILL_PASSES = 10;

/**
 * How many passes in a row must find nothing left to kill before a kill by tag ends. One is not
 * enough: a child in the middle of `execve` has an environment that reads as empty for that
 * moment (the kernel has given it its new memory but not yet copied its environment in), so a
 * pass can miss the last child a killed forker left, and that child lives on (CORE-011).
 */
export const TAG_KILL_QUIET_PASSES = 2;

/**
 * SIGKILLs every process carrying one of `tags`, pass after pass, until TAG_KILL_QUIET_PASSES
 * passes in a row find none it has not killed yet, at most TAG_KILL_PASSES passes; each pass is
 * one look at /proc for all the tags. A process with SIGKILL pending can no longer fork, so those
 * a pass finds again (still exiting) are no reason for another pass; whoever must see them gone
 * waits for that.
 */
export function killTaggedProcesses(...tags: string[]): void {
  const killed = new Set<number>();
  let quiet = 0;
  for (let pass = 0; pass < TAG_KILL_PASSES && quiet < TAG_KILL_QUIET_PASSES; pass++) {
    const found = [...new Set([...processesByTag(tags).values()].flat())].filter((pid) => !killed.has(pid));
    quiet = found.length === 0 ? quiet + 1 : 0;
    for (const pid of found) {
      killed.add(pid);
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Exited meanwhile.
      }
    }
  }
}

function isRunning(pid: string): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X';
}
