// Host locks and orphan recovery on PostgreSQL (see CORE-003, CORE-012): the same rules as
// host-locks.ts and orphan-recovery.ts, with "alive" meaning "holds an unexpired lease" instead of
// a pid check, because the owner may run on another machine. Call inside a write transaction.
// A dead owner's command whose processes still run on this machine (CORE-011) is handled as on
// SQLite: it keeps its host busy; `settleDeadOwners` kills it, before the transaction, and inside
// the transaction recovery only looks. On another machine we cannot see its processes; its
// lifeline ends them there.
import { hostname } from 'node:os';
import type pg from 'pg';
import { CONTROLLER_HOST_ID } from '../../registry/types.js';
import { type CommandWitness, killWitnesses, liveWitnesses, WITNESS_KILL_WAIT_MS } from '../command-witness.js';
import { orphanedText } from '../orphan-recovery.js';
import type { BusyHost, CommandRecord, Owner, RunRecord } from '../types.js';
import { setArmed, transitionCommand } from './pg-commands.js';
import { appendEvent } from './pg-events.js';
import { ownerIsLive } from './pg-lease.js';
import { finishRun } from './pg-runs.js';

interface OwnerRow {
  owner_pid: number;
  owner_hostname: string;
  owner_started_at: number;
}

interface WitnessRow {
  process_group: number | null;
  process_started_at: number | null;
  process_tag: string | null;
}

interface HolderRow extends OwnerRow, WitnessRow {
  id: string;
  pipeline_id: string;
  host_id: string;
  alive: boolean;
}

/** The command's processes, if they were recorded on this machine. */
function localWitness(owner: OwnerRow, row: WitnessRow): CommandWitness | undefined {
  if (row.process_group === null || owner.owner_hostname !== hostname()) return undefined;
  return { group: row.process_group, startedAt: row.process_started_at, tag: row.process_tag };
}

const ownerOf = (row: OwnerRow): Owner => ({
  pid: row.owner_pid,
  hostname: row.owner_hostname,
  startedAt: row.owner_started_at,
});

export async function checkLocks(
  db: pg.ClientBase,
  hostIds: readonly string[],
): Promise<{ busy: BusyHost[]; deadOwners: Owner[] }> {
  const wanted = [...new Set(hostIds)].filter((hostId) => hostId !== CONTROLLER_HOST_ID);
  const { rows } = await db.query<HolderRow>(
    `SELECT c.id, c.pipeline_id, c.host_id, c.owner_pid, c.owner_hostname, c.owner_started_at, c.process_group,
       c.process_started_at, c.process_tag, ${ownerIsLive('c')} AS alive
     FROM commands c JOIN pipelines p ON p.id = c.pipeline_id
     WHERE c.host_id = ANY($1::text[]) AND c.finished_at IS NULL AND p.status = 'RUNNING'
     ORDER BY c.seq`,
    [wanted],
  );
  const busy: BusyHost[] = [];
  const dead = new Map<string, Owner>();
  // A dead owner's command whose processes still run here keeps the host busy (CORE-011): one
  // look for all of them, which signals nothing.
  const witnesses = new Map<HolderRow, CommandWitness>();
  for (const row of rows) {
    const witness = row.alive ? undefined : localWitness(row, row);
    if (witness !== undefined) witnesses.set(row, witness);
  }
  const running = new Set(liveWitnesses([...witnesses.values()]));
  const stillRunning = (row: HolderRow) => {
    const witness = witnesses.get(row);
    return witness !== undefined && running.has(witness);
  };
  for (const hostId of wanted) {
    const holders = rows.filter((row) => row.host_id === hostId);
    for (const row of holders.filter((holder) => !holder.alive)) {
      dead.set(`${row.owner_hostname}\u0000${row.owner_pid}\u0000${row.owner_started_at}`, ownerOf(row));
    }
    const live = holders.find((holder) => holder.alive || stillRunning(holder));
    if (live) busy.push({ hostId, runId: live.pipeline_id, commandId: live.id });
  }
  return { busy, deadOwners: [...dead.values()] };
}

/** Every owner with unfinished work whose lease has expired (or was given up). */
export async function deadOwners(db: pg.ClientBase): Promise<Owner[]> {
  const { rows } = await db.query<OwnerRow>(
    `SELECT DISTINCT owner_pid, owner_hostname, owner_started_at FROM (
       SELECT owner_pid, owner_hostname, owner_started_at FROM pipelines WHERE status = 'RUNNING'
       UNION
       SELECT owner_pid, owner_hostname, owner_started_at FROM commands WHERE finished_at IS NULL
     ) w WHERE NOT ${ownerIsLive('w')}`,
  );
  return rows.map(ownerOf);
}

/**
 * Kills what the dead owners' commands still run on this machine and waits for it, bounded, with
 * no transaction open: the wait never holds back another controller (CORE-011).
 */
export async function settleDeadOwners(db: pg.ClientBase, dead: readonly Owner[]): Promise<void> {
  if (dead.length === 0) return;
  const { rows } = await db.query<OwnerRow & WitnessRow>(
    `SELECT owner_pid, owner_hostname, owner_started_at, process_group, process_started_at, process_tag
     FROM commands WHERE finished_at IS NULL AND process_group IS NOT NULL
       AND (owner_pid, owner_hostname, owner_started_at) IN (SELECT * FROM unnest($1::int[], $2::text[], $3::bigint[]))`,
    [dead.map((owner) => owner.pid), dead.map((owner) => owner.hostname), dead.map((owner) => owner.startedAt)],
  );
  killWitnesses(
    rows.flatMap((row) => localWitness(row, row) ?? []),
    WITNESS_KILL_WAIT_MS,
  );
}

/** A dead owner's work as recovery finds it: its unfinished commands and its running runs. */
interface Orphans {
  readonly owner: Owner;
  readonly key: unknown[];
  readonly commands: readonly {
    readonly id: string;
    readonly started_at: number | null;
    readonly armed_ms: number | null;
    readonly armed_state: string | null;
  }[];
  readonly runIds: readonly string[];
}

const OWNER_FILTER = 'owner_pid = $1 AND owner_hostname = $2 AND owner_started_at = $3';

/**
 * What recovery would mark of the dead owners' work, read only: nothing of an owner whose
 * commands' processes still run on this machine (`settleDeadOwners` could not end them), which
 * keeps its hosts busy for a later look. This only looks, once for all owners, and signals
 * nothing (CORE-011).
 */
async function orphansOf(db: pg.ClientBase, dead: readonly Owner[]): Promise<Orphans[]> {
  const unfinished = [];
  for (const owner of dead) {
    const key = [owner.pid, owner.hostname, owner.startedAt];
    const commands = await db.query<
      { id: string; started_at: number | null; armed_ms: number | null; armed_state: string | null } & WitnessRow
    >(
      `SELECT id, started_at, armed_ms, armed_state, process_group, process_started_at, process_tag FROM commands
       WHERE finished_at IS NULL AND ${OWNER_FILTER} ORDER BY seq`,
      key,
    );
    const ownerRow = { owner_pid: owner.pid, owner_hostname: owner.hostname, owner_started_at: owner.startedAt };
    const witnesses = commands.rows.flatMap((row) => localWitness(ownerRow, row) ?? []);
    unfinished.push({ owner, key, commands: commands.rows, witnesses });
  }
  const live = new Set(liveWitnesses(unfinished.flatMap((entry) => entry.witnesses)));
  const found: Orphans[] = [];
  for (const { owner, key, commands, witnesses } of unfinished) {
    if (witnesses.some((witness) => live.has(witness))) continue;
    const runs = await db.query<{ id: string }>(
      `SELECT id FROM pipelines WHERE status = 'RUNNING' AND ${OWNER_FILTER} ORDER BY seq`,
      key,
    );
    const runIds = runs.rows.map((row) => row.id);
    if (commands.length > 0 || runIds.length > 0) found.push({ owner, key, commands, runIds });
  }
  return found;
}

/**
 * What a reader that may not write shows (CORE-012, read-only users): the dead owners' work as
 * recovery would record it at this moment (ORPHANED, ended now, with its reason), written nowhere.
 */
export async function orphansShown(db: pg.ClientBase): Promise<{
  run(run: RunRecord): RunRecord;
  command(command: CommandRecord): CommandRecord;
}> {
  const found = await orphansOf(db, await deadOwners(db));
  const at = Date.now();
  const runIds = new Set(found.flatMap((orphans) => orphans.runIds));
  const reasons = new Map(
    found.flatMap(({ owner, commands }) =>
      commands.map((row) => [row.id, orphanedText(owner, row.started_at !== null, true)] as const),
    ),
  );
  return {
    run: (run) => (runIds.has(run.id) ? { ...run, status: 'ORPHANED', finishedAt: at, pause: null } : run),
    command: (command) => {
      const error = reasons.get(command.id);
      if (error === undefined) return command;
      const armed = command.armed?.state === 'armed' ? { ...command.armed, state: 'unknown' as const } : command.armed;
      return { ...command, status: 'ORPHANED', finishedAt: at, error, armed };
    },
  };
}

export async function markOrphans(
  db: pg.ClientBase,
  dead: readonly Owner[],
  at: number,
): Promise<{ runs: number; commands: number }> {
  let runCount = 0;
  let commandCount = 0;
  for (const { owner, key, commands, runIds } of await orphansOf(db, dead)) {
    const commandIds = commands.map((row) => row.id);
    // Both in the database's clock: when the lease ran out (null if it was given up) and now.
    const lease = await db.query<{ expired_at: number | null; noticed_at: number }>(
      `SELECT (SELECT (extract(epoch FROM lease_expires_at) * 1000)::bigint FROM owners WHERE ${OWNER_FILTER}) AS expired_at,
              (extract(epoch FROM now()) * 1000)::bigint AS noticed_at`,
      key,
    );
    const { expired_at: leaseExpiredAt, noticed_at: noticedAt } = lease.rows[0]!;
    for (const row of commands) {
      const error = orphanedText(owner, row.started_at !== null, true);
      // CORE-009: no one is left to disarm or follow its timer, as for a killed op.
      if (row.armed_state === 'armed') await setArmed(db, row.id, Number(row.armed_ms ?? 0), 'unknown', at);
      await transitionCommand(db, row.id, 'ORPHANED', { error }, at);
    }
    for (const id of runIds) await finishRun(db, id, 'ORPHANED', at);
    await appendEvent(
      db,
      {
        category: 'recovery',
        level: 'warn',
        actor: 'system',
        action: 'orphaned',
        message: `nixfleet process ${owner.pid} on ${owner.hostname} stopped renewing its lease: marked ${runIds.length} run(s) and ${commandIds.length} command(s) ORPHANED`,
        details: { owner, runs: runIds, commands: commandIds, leaseExpiredAt, noticedAt },
      },
      at,
    );
    await db.query(`DELETE FROM owners WHERE ${OWNER_FILTER} AND lease_expires_at < now()`, key);
    runCount += runIds.length;
    commandCount += commandIds.length;
  }
  return { runs: runCount, commands: commandCount };
}
