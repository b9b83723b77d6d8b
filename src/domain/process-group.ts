// Signals and inspects whole process groups: local commands run detached, so the shell's pid is
// also the group id and one kill reaches every child it started (see CORE-001, timeouts); recovery
// asks whether a dead nixfleet's command group is still alive (see CORE-011).
import { readdirSync, readFileSync } from 'node:fs';

/**
 * Whether `pid` can lead a group nixfleet started. Anything else is never signalled or counted:
 * `kill(-0)` reaches nixfleet's own process group, `kill(-1)` every process it may signal, and a
 * damaged journal row must turn into neither.
 */
function isGroupLeaderPid(pid: number): boolean {
  return Number.isSafeInteger(pid) && pid > 1;
}

/** Sends `signal` to the group led by `pid`; false when the group is already gone. */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): boolean {
  if (!isGroupLeaderPid(pid)) return false;
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True while a process of the group led by `pid` is still running. Zombies do not count: a
 * killed child waits to be reaped by init, which in containers may take seconds.
 */
export function isProcessGroupAlive(pid: number): boolean {
  if (!isGroupLeaderPid(pid)) return false;
  try {
    process.kill(-pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  return process.platform === 'linux' ? liveGroupMembers(pid).length > 0 : true;
}

/** Linux: pids in process group `pgid` that are not zombies, read from /proc. */
export function liveGroupMembers(pgid: number): number[] {
  const members: number[] = [];
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return members;
  }
  for (const entry of entries) {
    if (entry.charCodeAt(0) < 48 || entry.charCodeAt(0) > 57) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name, which is in parentheses and may itself contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const group = Number(fields[2]);
    if (group === pgid && state !== 'Z' && state !== 'X') members.push(Number(entry));
  }
  return members;
}
