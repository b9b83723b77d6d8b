// Processes that left their command's process group (`setsid`, daemons) still carry its
// environment: each command runs with NIXFLEET_PROCESS_TAG=<random> set, and on Linux
// /proc/<pid>/environ shows it, so timeouts, kills, the lifeline and recovery can find them (see
// CORE-011). A process that clears or replaces its environment is not found.
import { readdirSync, readFileSync } from 'node:fs';

export const PROCESS_TAG_VARIABLE = 'NIXFLEET_PROCESS_TAG';

/** Linux: running processes whose environment holds NIXFLEET_PROCESS_TAG=<tag>; [] elsewhere. */
export function taggedProcesses(tag: string): number[] {
  if (process.platform !== 'linux' || tag === '') return [];
  const needle = Buffer.from(`\0${PROCESS_TAG_VARIABLE}=${tag}\0`);
  const found: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    try {
      // A leading NUL lets the first variable match like the others.
      const environ = Buffer.concat([Buffer.from([0]), readFileSync(`/proc/${entry}/environ`)]);
      if (environ.includes(needle) && isRunning(entry)) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
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
 * the third nothing (CORE-011, "Processes that leave the group").
 */
export const TAG_KILL_PASSES = 10;

/**
 * SIGKILLs every tagged process, pass after pass, until a pass finds none it has not killed yet,
 * at most TAG_KILL_PASSES passes. A process with SIGKILL pending can no longer fork, so those a
 * pass finds again (still exiting) are no reason for another pass; whoever must see them gone
 * waits for that.
 */
export function killTaggedProcesses(tag: string): void {
  const killed = new Set<number>();
  for (let pass = 0; pass < TAG_KILL_PASSES; pass++) {
    const found = taggedProcesses(tag).filter((pid) => !killed.has(pid));
    if (found.length === 0) return;
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
