// Retention (see CORE-003): finished runs with their commands and output files
// after 30 days, events after 7 (env overrides), and the change log down to what a reconnecting
// dashboard could still use. Rows are deleted in one transaction; files after it commits, so a
// rolled-back prune never loses output a kept row points to.
import { rmSync } from 'node:fs';
import type { ChangeLog } from './change-log.js';
import { prepareLater, type SqliteDatabase } from './database.js';
import type { EventLog } from './event-log.js';
import type { MetaStore } from './meta.js';
import { outputFileIn } from './rows.js';
import type { NewEvent, PruneResult } from './types.js';

export const DAY_MS = 86_400_000;
export const DEFAULT_COMMAND_RETENTION_DAYS = 30;
export const DEFAULT_EVENT_RETENTION_DAYS = 7;
/** The change log keeps at least this many newest changes (never none: the next version counts on from the newest)… */
export const CHANGES_KEPT = 10_000;
/** …and at least every change of the last day, whichever is more. */
export const CHANGES_KEPT_MS = DAY_MS;
export const LAST_PRUNE_KEY = 'last_prune_at';

/**
 * The event log rows retention removes without counting them: its own summaries of earlier
 * prunes. Counted, each summary removed was reason for the next, and with
 * `NIXFLEET_LOG_RETENTION_DAYS=0` `serve` wrote one, and said so, on every tick for ever (CORE-003).
 */
export const OWN_SUMMARIES = "category = 'retention' AND action = 'pruned'";

export interface RetentionPolicy {
  readonly commandRetentionMs: number;
  readonly eventRetentionMs: number;
}

export interface ResolvedPolicy {
  readonly policy: RetentionPolicy;
  /** Env values that were not a number of days, and the default used instead. */
  readonly problems: string[];
  /** The same values, for a caller that refuses them rather than use the default. */
  readonly invalid: string[];
}

export function retentionFromEnv(env: NodeJS.ProcessEnv): ResolvedPolicy {
  const refused: { message: string; fallback: number }[] = [];
  const days = (name: string, fallback: number): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw);
    if (Number.isFinite(value) && value >= 0) return value;
    refused.push({ message: `${name}=${raw} is not a number of days (>= 0)`, fallback });
    return fallback;
  };
  const policy = {
    commandRetentionMs: days('NIXFLEET_CMD_RETENTION_DAYS', DEFAULT_COMMAND_RETENTION_DAYS) * DAY_MS,
    eventRetentionMs: days('NIXFLEET_LOG_RETENTION_DAYS', DEFAULT_EVENT_RETENTION_DAYS) * DAY_MS,
  };
  return {
    policy,
    problems: refused.map(({ message, fallback }) => `${message}; using ${fallback}`),
    invalid: refused.map(({ message }) => message),
  };
}

/**
 * What a prune writes to the event log, on either engine: a warning per retention setting it could
 * not use, and one summary when anything was removed.
 */
export function pruneEvents(result: PruneResult, problems: readonly string[], policy: RetentionPolicy): NewEvent[] {
  const events: NewEvent[] = problems.map((message) => ({
    category: 'retention',
    level: 'warn',
    action: 'config',
    message,
  }));
  const { commands, pipelines, events: removedEvents, changes } = result;
  if (commands + pipelines + removedEvents + changes > 0) {
    events.push({
      category: 'retention',
      level: 'info',
      action: 'pruned',
      message: `retention removed ${pipelines} run(s), ${commands} command(s), ${removedEvents} event(s), ${changes} change(s)`,
      details: {
        ...result,
        commandRetentionMs: policy.commandRetentionMs,
        eventRetentionMs: policy.eventRetentionMs,
      },
    });
  }
  return events;
}

export interface Retention {
  /** Deletes what the policy allows; runs its own IMMEDIATE transaction. */
  prune(policy: RetentionPolicy, at: number, problems?: readonly string[]): PruneResult;
}

export function createRetention(
  db: SqliteDatabase,
  dataDir: string,
  tables: { readonly events: EventLog; readonly meta: MetaStore; readonly changes: ChangeLog },
): Retention {
  // Only finished runs none of whose commands is still unfinished: retention never races a run.
  const expiredRuns = prepareLater(
    db,
    `SELECT id FROM pipelines p
       WHERE p.status <> 'RUNNING' AND p.finished_at IS NOT NULL AND p.finished_at < ?
         AND NOT EXISTS (SELECT 1 FROM commands c WHERE c.pipeline_id = p.id AND c.finished_at IS NULL)`,
  ).pluck();
  const outputFiles = prepareLater(
    db,
    'SELECT output_file FROM commands WHERE pipeline_id = ? AND output_file IS NOT NULL',
  ).pluck();
  const deleteCommands = prepareLater(db, 'DELETE FROM commands WHERE pipeline_id = ?');
  const deleteRun = prepareLater(db, 'DELETE FROM pipelines WHERE id = ?');
  const deleteEvents = prepareLater(db, `DELETE FROM event_log WHERE timestamp < ? AND NOT (${OWN_SUMMARIES})`);
  const deleteOwnSummaries = prepareLater(db, `DELETE FROM event_log WHERE timestamp < ? AND ${OWN_SUMMARIES}`);
  const deleteChanges = prepareLater(db, 'DELETE FROM changes WHERE version <= ? AND created_at < ?');

  const pruneRows = (policy: RetentionPolicy, at: number, problems: readonly string[]) => {
    const files: string[] = [];
    let commands = 0;
    let pipelines = 0;
    const runIds = expiredRuns.all(at - policy.commandRetentionMs) as string[];
    for (const id of runIds) {
      files.push(...(outputFiles.all(id) as string[]));
      commands += deleteCommands.run(id).changes;
      pipelines += deleteRun.run(id).changes;
    }
    // Open dashboards drop them too (CORE-004): the snapshot a page builds stays the journal's.
    if (runIds.length > 0) tables.changes.append({ type: 'pipelines_removed', runIds });
    const events = deleteEvents.run(at - policy.eventRetentionMs).changes;
    deleteOwnSummaries.run(at - policy.eventRetentionMs);
    // Never the newest: a change's version is the newest one's plus one (CORE-003).
    const changes = deleteChanges.run(tables.changes.version() - CHANGES_KEPT, at - CHANGES_KEPT_MS).changes;
    const result: PruneResult = { commands, pipelines, events, changes, outputFiles: files.length };
    for (const event of pruneEvents(result, problems, policy)) tables.events.append(event);
    tables.meta.set(LAST_PRUNE_KEY, String(at));
    return { result, files };
  };

  return {
    prune(policy, at, problems = []) {
      // Made at the first prune, as the statements are prepared at their first use.
      const { result, files } = db.transaction(pruneRows).immediate(policy, at, problems);
      let removed = 0;
      for (const file of files) {
        const path = outputFileIn(dataDir, file);
        if (path === null) continue;
        try {
          rmSync(path, { force: true });
          removed++;
        } catch {
          // A file that cannot be removed is left behind; its row is gone, so nothing points to it.
        }
      }
      return { ...result, outputFiles: removed };
    },
  };
}
