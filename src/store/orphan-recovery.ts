// Recovery (specs/README.md, decision 4; see CORE-003): what a dead owner left unfinished is marked
// ORPHANED, with one warn event per dead owner. A live owner's work, or work owned from another
// machine (which we cannot check), is never touched.
import type { CommandTable } from './command-table.js';
import { type CommandWitness, killWitnesses, liveWitnesses, WITNESS_KILL_WAIT_MS } from './command-witness.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import type { EventLog } from './event-log.js';
import type { RunTable } from './run-table.js';
import type { Owner } from './types.js';

export interface RecoveryResult {
  readonly runs: number;
  readonly commands: number;
}

export interface OrphanRecovery {
  /**
   * Kills what dead owners' commands still run and waits for it, bounded; call with no
   * transaction open. `owners`: those, else every dead owner with unfinished work.
   */
  settle(owners?: readonly Owner[]): void;
  /** Checks every owner with unfinished work; call inside an IMMEDIATE transaction. */
  recover(): RecoveryResult;
  /**
   * Marks the given (already known dead) owners' unfinished work; call inside a transaction,
   * after `settle`. An owner one of whose commands still runs is left as it is: this signals
   * nothing and never waits.
   */
  markOrphans(owners: readonly Owner[]): RecoveryResult;
}

interface UnfinishedRow {
  id: string;
  started_at: number | null;
  armed_ms: number | null;
  armed_state: string | null;
  process_group: number | null;
  process_started_at: number | null;
  process_tag: string | null;
}

interface OwnerRow {
  owner_pid: number;
  owner_hostname: string;
  owner_started_at: number;
}

/** The owners of unfinished work: running runs and commands without an end. */
const OWNERS_SQL = `SELECT owner_pid, owner_hostname, owner_started_at FROM pipelines WHERE status = 'RUNNING'
  UNION
  SELECT owner_pid, owner_hostname, owner_started_at FROM commands WHERE finished_at IS NULL`;

function deadOwnersOf(rows: readonly OwnerRow[], isAlive: (owner: Owner) => boolean): Owner[] {
  return rows
    .map((row) => ({ pid: row.owner_pid, hostname: row.owner_hostname, startedAt: row.owner_started_at }))
    .filter((owner) => !isAlive(owner));
}

/**
 * Whether a dead owner left work unfinished, which recovery would mark. Only reads, so a
 * read-only connection can ask before it decides to recover in a copy (CORE-003).
 */
export function hasDeadOwners(db: SqliteDatabase, isAlive: (owner: Owner) => boolean): boolean {
  return deadOwnersOf(db.prepare(OWNERS_SQL).all() as OwnerRow[], isAlive).length > 0;
}

export function createOrphanRecovery(
  db: SqliteDatabase,
  tables: { readonly runs: RunTable; readonly commands: CommandTable; readonly events: EventLog },
  isAlive: (owner: Owner) => boolean,
): OrphanRecovery {
  const owners = prepareLater(db, OWNERS_SQL);
  const ownerFilter = 'owner_pid = ? AND owner_hostname = ? AND owner_started_at = ?';
  const unfinishedCommands = prepareLater(
    db,
    `SELECT id, started_at, armed_ms, armed_state, process_group, process_started_at, process_tag FROM commands WHERE finished_at IS NULL AND ${ownerFilter}`,
  );
  const runningRuns = prepareLater(
    db,
    `SELECT id FROM pipelines WHERE status = 'RUNNING' AND ${ownerFilter} ORDER BY rowid`,
  ).pluck();

  const witnessesOf = (rows: readonly UnfinishedRow[]): CommandWitness[] =>
    rows
      .filter((row) => row.process_group !== null)
      .map((row) => ({ group: row.process_group!, startedAt: row.process_started_at, tag: row.process_tag }));
  const deadOwners = (): Owner[] => deadOwnersOf(owners.all() as OwnerRow[], isAlive);

  const markOrphans = (dead: readonly Owner[]): RecoveryResult => {
    let runCount = 0;
    let commandCount = 0;
    const keys = dead.map((owner) => [owner.pid, owner.hostname, owner.startedAt]);
    const unfinishedOf = keys.map((key) => unfinishedCommands.all(...key) as UnfinishedRow[]);
    const witnesses = unfinishedOf.map(witnessesOf);
    // CORE-011: a dead owner's command whose processes still run (its lifeline did not get to
    // them yet, nor `settle`) leaves the owner's work as it is, its hosts busy, until a later
    // recovery finds them gone. Under the write lock this only looks, once for all owners:
    // killing, and waiting for it, is `settle`'s, before the lock.
    const live = new Set(liveWitnesses(witnesses.flat()));
    for (const [index, owner] of dead.entries()) {
      if (witnesses[index]!.some((witness) => live.has(witness))) continue;
      const key = keys[index]!;
      const unfinished = unfinishedOf[index]!;
      // No ORDER BY in SQL: it would make SQLite scan the table instead of the small index.
      const sorted = [...unfinished].sort((a, b) => byIdNumber(a.id, b.id));
      const commandIds = sorted.map((row) => row.id);
      const runIds = runningRuns.all(...key) as string[];
      if (commandIds.length === 0 && runIds.length === 0) continue;
      for (const row of sorted) {
        // CORE-009: no one is left to disarm or follow its timer, as for a killed op.
        if (row.armed_state === 'armed') tables.commands.setArmed(row.id, row.armed_ms ?? 0, 'unknown');
        tables.commands.transition(row.id, 'ORPHANED', { error: orphanedText(owner, row.started_at !== null) });
      }
      for (const id of runIds) tables.runs.finish(id, 'ORPHANED');
      tables.events.append({
        category: 'recovery',
        level: 'warn',
        actor: 'system',
        action: 'orphaned',
        message: `nixfleet process ${owner.pid} on ${owner.hostname} died: marked ${runIds.length} run(s) and ${commandIds.length} command(s) ORPHANED`,
        details: { owner, runs: runIds, commands: commandIds },
      });
      runCount += runIds.length;
      commandCount += commandIds.length;
    }
    return { runs: runCount, commands: commandCount };
  };

  return {
    settle(only) {
      const witnesses = (only ?? deadOwners()).flatMap((owner) =>
        witnessesOf(unfinishedCommands.all(owner.pid, owner.hostname, owner.startedAt) as UnfinishedRow[]),
      );
      // All dead owners' commands at once: one wait, however many crashed.
      killWitnesses(witnesses, WITNESS_KILL_WAIT_MS);
    },
    recover: () => markOrphans(deadOwners()),
    markOrphans,
  };
}

/**
 * The reason an ORPHANED command gives (CORE-003, recovery): one that started was cut short; one
 * still PENDING never began, and said so too ("stopped before this finished" read as if it had
 * run). `lease`: on PostgreSQL, where a dead owner is known by its expired lease (CORE-012).
 */
export function orphanedText(owner: Owner, started: boolean, lease = false): string {
  const who = `nixfleet process ${owner.pid} on ${owner.hostname}`;
  const why = started ? `${who} stopped before this finished` : `never started: ${who} stopped before starting it`;
  return `orphaned: ${why}${lease ? ' (its lease expired)' : ''}`;
}

/** `c12` after `c9`: ids are a letter and a counter. */
function byIdNumber(a: string, b: string): number {
  return Number(a.slice(1)) - Number(b.slice(1));
}
