// Whether a command of a dead nixfleet may still be running (see CORE-011). The journal records,
// for each running command, a local process group whose life spans the command's (the shell of a
// local command, the ssh client of a remote one: it exits only once the remote session closed)
// and the start time of its leader. Recovery never frees a host while that group is alive.
import { isProcessGroupAlive, signalProcessGroup } from '../domain/process-group.js';
import { killTaggedProcesses, taggedProcesses } from '../domain/tagged-processes.js';
import { processStartTime } from './owner.js';
import { pauseSync } from './pause.js';

export interface CommandWitness {
  readonly group: number;
  readonly startedAt: number | null;
  /** NIXFLEET_PROCESS_TAG: processes that left the group still carry it (Linux). */
  readonly tag?: string | null;
}

/** Boot time is whole seconds: start times derived at different moments may differ by one. */
const START_TIME_TOLERANCE_MS = 2000;
/** How long recovery waits for a killed group to disappear before it leaves the host busy. */
export const WITNESS_KILL_WAIT_MS = 3_000;

export function isWitnessAlive(witness: CommandWitness): boolean {
  return isGroupAlive(witness) || (witness.tag ? taggedProcesses(witness.tag).length > 0 : false);
}

function isGroupAlive(witness: CommandWitness): boolean {
  const leaderStart = processStartTime(witness.group);
  // The leader's pid now belongs to a process that started later: the kernel never hands out a
  // pid still used as a process group id, so the group we recorded is gone.
  if (typeof leaderStart === 'number' && witness.startedAt !== null) {
    if (Math.abs(leaderStart - witness.startedAt) > START_TIME_TOLERANCE_MS) return false;
  }
  return isProcessGroupAlive(witness.group);
}

/**
 * SIGKILLs the groups still alive and their tagged processes, again at every look that still finds
 * some, until none is alive, bounded. True when all are gone. What a tagged process forks while one
 * kill runs escapes it (CORE-011, "Processes that leave the group"). It blocks the caller (a
 * recovery transaction): this only happens after a crash whose lifeline did not (yet) clean up, and
 * holding the write lock a few seconds beats freeing a busy host.
 */
export function killWitnesses(witnesses: readonly CommandWitness[]): boolean {
  let alive = witnesses.filter(isWitnessAlive);
  const giveUpAt = Date.now() + WITNESS_KILL_WAIT_MS;
  while (alive.length > 0 && Date.now() < giveUpAt) {
    for (const witness of alive) {
      if (isGroupAlive(witness)) signalProcessGroup(witness.group, 'SIGKILL');
      if (witness.tag) killTaggedProcesses(witness.tag);
    }
    pauseSync(25);
    alive = alive.filter(isWitnessAlive);
  }
  return alive.length === 0;
}
