// Reading the machine's processes from /proc, for tests that check nothing of a run survives.

import { readdirSync, readFileSync } from 'node:fs';
import type { ResultPromise } from 'execa';

/** True while `pid` exists and is not a zombie (a killed process waiting to be reaped is dead). */
export function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

/** A process's command line, its arguments joined by spaces; undefined once it is gone. */
function commandLine(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return undefined;
  }
}

/** Running processes whose command line contains `text`. */
export function processesMatching(text: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    if (commandLine(Number(entry))?.includes(text) && isRunning(Number(entry))) found.push(Number(entry));
  }
  return found;
}

/** Children of `parent` whose command line contains `text`. */
export function childrenMatching(parent: number, text: string): number[] {
  return processesMatching(text).filter((pid) => {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === parent;
    } catch {
      return false;
    }
  });
}

/** Each pid with its command line, for a failure message that says what is still running. */
export function describeProcesses(pids: readonly number[]): string {
  return pids.map((pid) => `${pid}: ${commandLine(pid)?.trim() ?? '(gone)'}`).join('; ');
}

/**
 * Kills nixfleet and its lifeline at once, as the OOM killer or `kill -9` of both would (CORE-011,
 * "The lifeline killed with nixfleet"): nixfleet is stopped first, so it cannot start a lifeline
 * in place of the one killed, then the lifeline's whole group (the shell and its awk), which would
 * otherwise see nixfleet go and clean up, then nixfleet. Waits for nixfleet to be gone.
 */
export async function killWithLifeline(nixfleet: ResultPromise): Promise<void> {
  const lifelines = childrenMatching(nixfleet.pid!, 'held[$2]');
  if (lifelines.length !== 1) throw new Error(`expected one lifeline of ${nixfleet.pid}, found ${lifelines.length}`);
  nixfleet.kill('SIGSTOP');
  process.kill(-lifelines[0]!, 'SIGKILL');
  nixfleet.kill('SIGKILL');
  await nixfleet.catch(() => undefined);
}
