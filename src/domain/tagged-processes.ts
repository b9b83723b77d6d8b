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

function isRunning(pid: string): boolean {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  return state !== 'Z' && state !== 'X';
}
