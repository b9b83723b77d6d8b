// Host locks live in the database (specs/README.md, decision 3; see CORE-003): a host is busy while an
// unfinished command on it (PENDING, VALIDATING, EXECUTING) belongs to a running run whose owner
// is alive. The caller checks inside the BEGIN IMMEDIATE transaction that also inserts the new
// run, so two processes can never both see a host free.
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import { type CommandWitness, liveWitnesses } from './command-witness.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import type { BusyHost, Owner } from './types.js';

export interface LockCheck {
  readonly busy: BusyHost[];
  /** Owners found holding a requested host that are dead: their work can be marked ORPHANED. */
  readonly deadOwners: Owner[];
}

export interface HostLocks {
  check(hostIds: readonly string[]): LockCheck;
}

interface HolderRow {
  id: string;
  pipeline_id: string;
  owner_pid: number;
  owner_hostname: string;
  owner_started_at: number;
  process_group: number | null;
  process_started_at: number | null;
  process_tag: string | null;
}

export function createHostLocks(db: SqliteDatabase, isAlive: (owner: Owner) => boolean): HostLocks {
  const holders = prepareLater(
    db,
    `SELECT c.id, c.pipeline_id, c.owner_pid, c.owner_hostname, c.owner_started_at, c.process_group,
       c.process_started_at, c.process_tag
     FROM commands c JOIN pipelines p ON p.id = c.pipeline_id
     WHERE c.host_id = ? AND c.finished_at IS NULL AND p.status = 'RUNNING'
     ORDER BY c.rowid LIMIT 1000`,
  );

  return {
    check(hostIds) {
      const verdicts = new Map<string, boolean>();
      const holdersOf = new Map<string, Holder[]>();
      for (const hostId of new Set(hostIds)) {
        // CORE-003: controller ops run on the machine running nixfleet and never hold a host.
        if (hostId === CONTROLLER_HOST_ID) continue;
        const seen: Holder[] = [];
        for (const row of holders.all(hostId) as HolderRow[]) {
          const owner = { pid: row.owner_pid, hostname: row.owner_hostname, startedAt: row.owner_started_at };
          const key = `${owner.hostname}\u0000${owner.pid}\u0000${owner.startedAt}`;
          let alive = verdicts.get(key);
          if (alive === undefined) {
            alive = isAlive(owner);
            verdicts.set(key, alive);
          }
          const witness =
            alive || row.process_group === null
              ? undefined
              : { group: row.process_group, startedAt: row.process_started_at, tag: row.process_tag };
          seen.push({ row, owner, key, alive, witness });
          if (alive) break;
        }
        holdersOf.set(hostId, seen);
      }
      // CORE-011: a dead owner's command whose processes still run keeps its host busy. One look
      // for all of them, which signals nothing: this runs under the write lock.
      const witnesses = [...holdersOf.values()].flat().flatMap((holder) => holder.witness ?? []);
      const running = new Set(liveWitnesses(witnesses));
      const busy: BusyHost[] = [];
      const dead = new Map<string, Owner>();
      for (const [hostId, seen] of holdersOf) {
        for (const { row, owner, key, alive, witness } of seen) {
          if (!alive) dead.set(key, owner);
          if (!alive && !(witness !== undefined && running.has(witness))) continue;
          busy.push({ hostId, runId: row.pipeline_id, commandId: row.id });
          break;
        }
      }
      return { busy, deadOwners: [...dead.values()] };
    },
  };
}

interface Holder {
  readonly row: HolderRow;
  readonly owner: Owner;
  readonly key: string;
  readonly alive: boolean;
  readonly witness: CommandWitness | undefined;
}
