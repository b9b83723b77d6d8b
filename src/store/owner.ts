// Who owns a run: pid, hostname and process start time (specs/README.md, decision 4; see CORE-003).
// The start time makes a reused pid harmless: a new process with the same pid started later.
import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Owner } from './types.js';

/** Linux reports process start in clock ticks since boot; USER_HZ is 100 on every mainstream kernel. */
const CLOCK_TICKS_PER_SECOND = 100;
/** Boot time is whole seconds and can be re-derived slightly differently after clock slews. */
const START_TIME_TOLERANCE_MS = 2000;

let ownStartTime: number | undefined;

export function currentOwner(): Owner {
  // This process's start never changes: read once, not at every ssh host's control socket.
  ownStartTime ??= processStartTime(process.pid) ?? Math.round(Date.now() - process.uptime() * 1000);
  return { pid: process.pid, hostname: hostname(), startedAt: ownStartTime };
}

/**
 * Whether the owner may still be running. An owner on another machine is assumed alive: we
 * cannot look at its processes, and marking live work ORPHANED would be worse than waiting.
 */
export function isOwnerAlive(owner: Owner, here: string = hostname()): boolean {
  if (owner.hostname !== here) return true;
  if (!pidExists(owner.pid)) return false;
  const startedAt = processStartTime(owner.pid);
  // A zombie (exited, not yet reaped) is dead.
  if (startedAt === null) return false;
  // Without /proc (not Linux) the pid's existence is all we can know.
  if (startedAt === undefined) return true;
  return Math.abs(startedAt - owner.startedAt) <= START_TIME_TOLERANCE_MS;
}

function pidExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Epoch ms the process started, from /proc (Linux); null when the process is gone or a zombie;
 * undefined where /proc is not available.
 */
export function processStartTime(pid: number): number | null | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[0] is field 3 (state); a zombie has exited already.
    if (fields[0] === 'Z' || fields[0] === 'X') return null;
    const ticks = Number(fields[19]);
    const bootSeconds = bootTime();
    if (!Number.isFinite(ticks) || bootSeconds === undefined) return undefined;
    return bootSeconds * 1000 + Math.round((ticks * 1000) / CLOCK_TICKS_PER_SECOND);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ENOENT' ? null : undefined;
  }
}

let cachedBootTime: number | undefined;

function bootTime(): number | undefined {
  if (cachedBootTime !== undefined) return cachedBootTime;
  const line = readFileSync('/proc/stat', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('btime '));
  cachedBootTime = line ? Number(line.slice(6)) : undefined;
  return cachedBootTime;
}
