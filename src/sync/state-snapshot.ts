// The full state a client starts from: `init` and `full_state` (see CORE-004).
// Read from the journal, so it is the same whichever process made the changes.
import type { CommandRecord, Journal, RunRecord } from '../store/types.js';
import type { SyncState } from './protocol.js';

export interface SnapshotLimits {
  /** Newest events kept (NIXFLEET_INIT_EVENT_LIMIT). */
  readonly events: number;
  /** Finished runs kept besides every active one. */
  readonly recentRuns: number;
  /** Of those, how many newest runs also bring all their commands (the grid and host statuses). */
  readonly runsWithCommands: number;
}

export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { events: 100, recentRuns: 50, runsWithCommands: 20 };

/** A run's commands are bounded by its hosts and stages, so "all" needs no other bound. */
const ALL_COMMANDS = Number.MAX_SAFE_INTEGER;

export interface SyncSnapshot {
  readonly version: number;
  readonly state: SyncState;
}

/**
 * A state together with a version it is at least as new as. The version is read first: a change
 * that lands while the state is being read is then also sent as a delta, and applying a delta
 * twice is harmless (every change carries whole records), whereas missing one would not be.
 */
export function readSnapshot(journal: Journal, limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS): SyncSnapshot {
  const version = journal.version();
  return { version, state: readState(journal, limits) };
}

export function readState(journal: Journal, limits: SnapshotLimits = DEFAULT_SNAPSHOT_LIMITS): SyncState {
  const active = journal.listRuns({ activeOnly: true });
  const recent = journal.listRuns({ limit: limits.recentRuns });
  const pipelines = newestFirst(uniqueById([...active, ...recent]));
  const withCommands = uniqueById([...active, ...recent.slice(0, limits.runsWithCommands)]);
  const commands: CommandRecord[] = [];
  // All of them: a list's default page (1,000) left most of a 3,000-host run's grid empty.
  for (const run of withCommands) commands.push(...journal.listCommands({ runId: run.id, limit: ALL_COMMANDS }));
  return {
    hosts: journal.listHosts(),
    commands: uniqueById([...commands, ...journal.listCommands({ activeOnly: true })]),
    pipelines,
    events: journal.listEvents({ limit: limits.events }),
    registry: journal.currentRegistry(),
  };
}

function uniqueById<T extends { readonly id: string }>(items: readonly T[]): T[] {
  const seen = new Map<string, T>();
  for (const item of items) if (!seen.has(item.id)) seen.set(item.id, item);
  return [...seen.values()];
}

function newestFirst(runs: readonly RunRecord[]): RunRecord[] {
  return [...runs].sort((a, b) => b.createdAt - a.createdAt || runNumber(b.id) - runNumber(a.id));
}

function runNumber(id: string): number {
  return Number(id.slice(1)) || 0;
}
