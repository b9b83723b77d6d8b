// CPU time of processes, read from /proc (Linux): what a process used itself, and what its
// children it has waited for used. Clock ticks are 10 ms (USER_HZ is 100 on Linux).
import { readdirSync, readFileSync } from 'node:fs';

const TICK_MS = 10;

/** { name, self, reaped, ppid } (self and reaped in ms) for `pid` (fields 14-17 of /proc/PID/stat), or undefined if it is gone. */
export function processCpu(pid) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = (i) => Number(fields[i]) * TICK_MS;
  const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
  return { name, self: ticks(11) + ticks(12), reaped: ticks(13) + ticks(14), ppid: Number(fields[1]) };
}

/** Every process on the machine, with its CPU so far, by pid. */
export function allProcessesCpu() {
  const all = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const cpu = processCpu(entry);
    if (cpu) all.set(Number(entry), cpu);
  }
  return all;
}

/** This process's live descendants, with their CPU so far, by pid. */
export function descendantsCpu() {
  const all = allProcessesCpu();
  const isOurs = (pid) => {
    for (let at = all.get(pid); at; at = all.get(at.ppid)) if (at.ppid === process.pid) return true;
    return false;
  };
  return new Map([...all].filter(([pid]) => isOurs(pid)));
}
