// What the page shows, derived from the synced state; no DOM (see CORE-004). The page only
// displays: statuses, stages and runs all come from the server's records as they are.

const ACTIVE = new Set(['PENDING', 'VALIDATING', 'EXECUTING']);

export function isActiveCommand(command) {
  return ACTIVE.has(command.status);
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

/**
 * The page's two views of the fleet that walk every command (see CORE-004, "Redrawing"), kept
 * from one render to the next: `hostStatuses` (per host, the command holding it now and its
 * newest finished one) and `runGrid` (a run's hosts × stages). sync-client.js replaces a changed
 * record in place in a copy of the commands array, so comparing the new array with the last one
 * place by place finds the commands a delta changed, and only their hosts are derived again: a
 * delta costs one pass of comparisons instead of rebuilding 3,000 rows from 6,000 commands. When
 * the commands no longer line up (a run started, retention removed one), the hosts or the run
 * record are different ones, the view is derived afresh. One instance per page: each keeps the
 * last state it was given.
 */
export function createFleetView() {
  /** { commands, hosts, positions, index, result } of the last `hostStatuses` */
  let statuses = null;
  /** { run, commands, positions, index, rows, rollout } of the last `runGrid` */
  let grid = null;

  return {
    /** Per host of the fleet, in its order: `{ host, current, last }`. */
    hostStatuses(state) {
      const { hosts, commands } = state;
      const changed = statuses?.hosts === hosts ? changedCommands(statuses.commands, commands) : null;
      if (changed === null) {
        const positions = positionsByHost(commands, () => true);
        statuses = {
          commands,
          hosts,
          positions,
          index: new Map(hosts.map((host, i) => [host.id, i])),
          result: hosts.map((host) => hostStatus(host, commands, positions.get(host.id))),
        };
      } else if (changed.length > 0) {
        const result = statuses.result.slice();
        for (const { hostId } of changed) {
          const i = statuses.index.get(hostId);
          if (i !== undefined) result[i] = hostStatus(hosts[i], commands, statuses.positions.get(hostId));
        }
        statuses = { ...statuses, commands, result };
      }
      return statuses.result;
    },

    /** Rows (hosts, plus `@controller` when a stage ran there) × columns (stages) of one run. */
    runGrid(state, runId) {
      const run = state.pipelines.find((p) => p.id === runId);
      if (!run) return null;
      const { commands } = state;
      const changed = grid?.run === run ? changedCommands(grid.commands, commands) : null;
      if (changed === null) {
        const positions = positionsByHost(commands, (command) => command.runId === run.id);
        const hostIds = [...run.hosts];
        // A Set, not hostIds.includes: with thousands of hosts the list scan per host was quadratic.
        const inRun = new Set(hostIds);
        for (const hostId of positions.keys()) {
          if (!inRun.has(hostId)) {
            inRun.add(hostId);
            hostIds.push(hostId);
          }
        }
        const rows = hostIds.map((hostId) => gridRow(run, hostId, commands, positions.get(hostId)));
        grid = {
          run,
          commands,
          positions,
          index: new Map(hostIds.map((hostId, i) => [hostId, i])),
          rows,
          rollout: rolloutSummary(run, rows),
        };
      } else if (changed.some((command) => command.runId === run.id)) {
        const rows = grid.rows.slice();
        for (const { runId: of, hostId } of changed) {
          if (of === run.id) rows[grid.index.get(hostId)] = gridRow(run, hostId, commands, grid.positions.get(hostId));
        }
        grid = { ...grid, commands, rows, rollout: rolloutSummary(run, rows) };
      } else {
        grid = { ...grid, commands };
      }
      return { run, rollout: grid.rollout, rows: grid.rows };
    },
  };
}

/**
 * The commands of `next` that are new records at their place in `prev`, or null when the two do
 * not hold the same commands in the same order.
 */
function changedCommands(prev, next) {
  if (prev.length !== next.length) return null;
  const changed = [];
  for (let i = 0; i < next.length; i++) {
    if (prev[i] === next[i]) continue;
    if (prev[i].id !== next[i].id) return null;
    changed.push(next[i]);
  }
  return changed;
}

/** hostId -> the places in `commands` of that host's commands that `keep` takes, in order. */
function positionsByHost(commands, keep) {
  const positions = new Map();
  for (let i = 0; i < commands.length; i++) {
    const command = commands[i];
    if (!keep(command)) continue;
    const places = positions.get(command.hostId);
    if (places === undefined) positions.set(command.hostId, [i]);
    else places.push(i);
  }
  return positions;
}

/** One host's command holding it now (if any) and its newest finished command. */
function hostStatus(host, commands, places = []) {
  let current = null;
  let last = null;
  for (const i of places) {
    const command = commands[i];
    if (isActiveCommand(command)) {
      if (command.status !== 'PENDING' || current === null) current = newer(current, command);
    } else if (command.status !== 'SKIPPED' && command.status !== 'CANCELLED') {
      last = newer(last, command, 'finishedAt');
    }
  }
  return { host, current, last };
}

/** One host's row of a run's grid: its command per stage, each with its rollback if any. */
function gridRow(run, hostId, commands, places = []) {
  const stages = [];
  // CORE-009: a rollback shares its op's host and stage; it rides on the op's cell, never replaces it.
  let rollbacks = null;
  for (const i of places) {
    const command = commands[i];
    if (command.rollbackOf) {
      rollbacks ??= new Map();
      rollbacks.set(command.rollbackOf, command);
      continue;
    }
    const existing = stages[command.stage];
    if (!existing || command.attempt >= existing.attempt) stages[command.stage] = command;
  }
  return {
    hostId,
    cells: run.stages.map((op, stage) => {
      const command = stages[stage] ?? null;
      return { op, stage, command, rollback: command ? (rollbacks?.get(command.id) ?? null) : null };
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
function rolloutSummary(run, rows) {
  const rollout = run.rollout;
  if (!rollout) return null;
  const batchOf = new Map();
  const failed = new Set();
  for (const { cells } of rows) {
    for (const { command } of cells) {
      if (command === null) continue;
      if (command.batch !== null && command.batch !== undefined) batchOf.set(command.hostId, command.batch);
      if (command.hostId !== '@controller' && FAILED.has(command.status)) failed.add(command.hostId);
    }
  }
  const batches = new Set(batchOf.values());
  const labels = new Map();
  if (batches.size > 1 || rollout.canary.length > 0) {
    for (const [hostId, batch] of batchOf) {
      if (hostId !== '@controller') labels.set(hostId, waveName(batch, rollout.batches));
    }
  }
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
