// What the page shows, derived from the synced state; pure, no DOM (see CORE-004). The page only
// displays: statuses, stages and runs all come from the server's records as they are.

const ACTIVE = new Set(['PENDING', 'VALIDATING', 'EXECUTING']);

export function isActiveCommand(command) {
  return ACTIVE.has(command.status);
}

/** Per host: the command holding it now (if any) and its newest finished command. */
export function hostStatuses(state) {
  const byHost = new Map();
  for (const command of state.commands) {
    const entry = byHost.get(command.hostId) ?? { current: null, last: null };
    if (isActiveCommand(command)) {
      if (command.status !== 'PENDING' || entry.current === null) entry.current = newer(entry.current, command);
    } else if (command.status !== 'SKIPPED' && command.status !== 'CANCELLED') {
      entry.last = newer(entry.last, command, 'finishedAt');
    }
    byHost.set(command.hostId, entry);
  }
  return state.hosts.map((host) => ({ host, ...(byHost.get(host.id) ?? { current: null, last: null }) }));
}

function newer(a, b, field = 'createdAt') {
  if (a === null) return b;
  return (b[field] ?? 0) > (a[field] ?? 0) || ((b[field] ?? 0) === (a[field] ?? 0) && idNumber(b.id) > idNumber(a.id))
    ? b
    : a;
}

function idNumber(id) {
  return Number(String(id).slice(1)) || 0;
}

/** The run to show when the user has not picked one: the newest running one, else the newest. */
export function defaultRunId(state) {
  const running = state.pipelines.find((p) => p.status === 'RUNNING');
  return (running ?? state.pipelines[0])?.id ?? null;
}

/** Rows (hosts, plus `@controller` when a stage ran there) × columns (stages) of one run. */
export function runGrid(state, runId) {
  const run = state.pipelines.find((p) => p.id === runId);
  if (!run) return null;
  // Per host, its command per stage. Plain arrays, not string keys: with 3,000 hosts this runs
  // over 6,000 commands on every render.
  const byHost = new Map();
  // CORE-009: a rollback shares its op's host and stage; it rides on the op's cell, never replaces it.
  const rollbacks = new Map();
  for (const command of state.commands) {
    if (command.runId !== runId) continue;
    if (command.rollbackOf) {
      rollbacks.set(command.rollbackOf, command);
      continue;
    }
    let stages = byHost.get(command.hostId);
    if (stages === undefined) {
      stages = [];
      byHost.set(command.hostId, stages);
    }
    const existing = stages[command.stage];
    if (!existing || command.attempt >= existing.attempt) stages[command.stage] = command;
  }
  const rows = [...run.hosts];
  // A Set, not rows.includes: with thousands of hosts the list scan per command was quadratic.
  const inRun = new Set(rows);
  for (const hostId of byHost.keys()) {
    if (!inRun.has(hostId)) {
      inRun.add(hostId);
      rows.push(hostId);
    }
  }
  const commands = [];
  for (const stages of byHost.values()) for (const command of stages) if (command) commands.push(command);
  return {
    run,
    rollout: rolloutSummary(run, commands),
    rows: rows.map((hostId) => {
      const stages = byHost.get(hostId);
      return {
        hostId,
        cells: run.stages.map((op, stage) => {
          const command = stages?.[stage] ?? null;
          return { op, stage, command, rollback: command ? (rollbacks.get(command.id) ?? null) : null };
        }),
      };
    }),
  };
}

/** Hosts whose command ended so count against a run's failure budget (see CORE-008). */
const FAILED = new Set(['ERROR', 'TIMEOUT', 'BLOCKED', 'ORPHANED']);

/** How a rollout's wave is named, as `runs` names it (src/domain/wave-name.ts): `canary`, `batch 2/4`. */
export function waveName(batch, batches) {
  return batch === 0 ? 'canary' : `batch ${batch}/${batches}`;
}

/**
 * A run's rollout as the grid shows it (see CORE-008): each host's batch label when the run went
 * in several waves, and the failure budget used / limit. Null for a plain run.
 */
export function rolloutSummary(run, commands) {
  const rollout = run.rollout;
  if (!rollout) return null;
  const batchOf = new Map();
  for (const command of commands)
    if (command.batch !== null && command.batch !== undefined) batchOf.set(command.hostId, command.batch);
  const batches = new Set(batchOf.values());
  const labels = new Map();
  if (batches.size > 1 || rollout.canary.length > 0) {
    for (const [hostId, batch] of batchOf) {
      if (hostId !== '@controller') labels.set(hostId, waveName(batch, rollout.batches));
    }
  }
  const failed = new Set(
    commands.filter((c) => c.hostId !== '@controller' && FAILED.has(c.status)).map((c) => c.hostId),
  );
  const budget = rollout.maxFailures === null ? null : { used: failed.size, limit: rollout.maxFailures };
  if (labels.size === 0 && budget === null) return null;
  return { labels, budget, batches: rollout.batches, canary: rollout.canary.length > 0 };
}

export function durationMs(startedAt, finishedAt, now) {
  if (startedAt === null || startedAt === undefined) return null;
  return (finishedAt ?? now) - startedAt;
}

export function formatDuration(ms) {
  if (ms === null || ms === undefined) return '';
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(ms < 10_000 ? 1 : 0)}s`;
  const minutes = Math.floor(ms / 60_000);
  if (minutes < 60) return `${minutes}m${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h${String(minutes % 60).padStart(2, '0')}m`;
}

export function formatClock(timestamp) {
  const d = new Date(timestamp);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

/** Command statuses that are failures: their reason is shown without a click. */
export const FAILED_COMMAND_STATUSES = ['ERROR', 'TIMEOUT', 'BLOCKED', 'ORPHANED'];
