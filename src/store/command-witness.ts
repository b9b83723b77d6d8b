// Whether a command of a dead nixfleet may still be running (see CORE-011). The journal records,
// for each running command, a local process group whose life spans the command's (the shell of a
// local command, the ssh client of a remote one: it exits only once the remote session closed)
// and the start time of its leader. Recovery never frees a host while that group is alive.
import { isProcessGroupAlive, signalProcessGroup } from '../domain/process-group.js';
import { killTaggedProcesses, processesByTag } from '../domain/tagged-processes.js';
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
/**
 * How long recovery waits for killed groups to disappear before it leaves their hosts busy. It
 * waits before it takes the write lock, never while holding it (CORE-011).
 */
export const WITNESS_KILL_WAIT_MS = 3_000;

/**
 * Those of `witnesses` whose command may still run: its group is alive, or a process carries its
 * tag. It only looks, never signals, so it is what a write transaction may do (CORE-011): the
 * group checks are two reads each, and the tags of all witnesses whose group is gone are looked
 * up in one pass over /proc, however many there are.
 */
export function liveWitnesses(witnesses: readonly CommandWitness[]): CommandWitness[] {
  const groupGone = witnesses.filter((witness) => !isGroupAlive(witness));
  const tags = groupGone.flatMap((witness) => (witness.tag ? [witness.tag] : []));
  const tagged = tags.length === 0 ? new Map<string, number[]>() : processesByTag(tags);
  const gone = new Set(groupGone.filter((witness) => !witness.tag || !tagged.has(witness.tag)));
  return witnesses.filter((witness) => !gone.has(witness));
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
 * some, until none is alive or `waitMs` is over. True when all are gone. What a tagged process
 * forks while one kill runs escapes it (CORE-011, "Processes that leave the group"). It blocks the
 * caller, so it is never called with the write lock held (every other nixfleet on the journal
 * would wait for it, and a live run gives up after 5 s): `settle` in orphan-recovery.ts and
 * `settleDeadOwners` in pg-recovery.ts call it before their transaction, which only looks
 * (`liveWitnesses`).
 */
export function killWitnesses(witnesses: readonly CommandWitness[], waitMs: number): boolean {
  let alive = liveWitnesses(witnesses);
  const giveUpAt = Date.now() + waitMs;
  while (alive.length > 0) {
    for (const witness of alive) {
      if (isGroupAlive(witness)) signalProcessGroup(witness.group, 'SIGKILL');
    }
    killTaggedProcesses(...alive.flatMap((witness) => (witness.tag ? [witness.tag] : [])));
    if (Date.now() >= giveUpAt) break;
    pauseSync(25);
    alive = liveWitnesses(alive);
  }
  return alive.length === 0;
}
