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
  const cells = new Map();
  for (const command of state.commands) {
    if (command.runId !== runId) continue;
    const key = `${command.hostId}\u0000${command.stage}`;
    const existing = cells.get(key);
    if (!existing || command.attempt >= existing.attempt) cells.set(key, command);
  }
  const rows = [...run.hosts];
  for (const command of cells.values()) if (!rows.includes(command.hostId)) rows.push(command.hostId);
  return {
    run,
    rows: rows.map((hostId) => ({
      hostId,
      cells: run.stages.map((op, stage) => ({ op, stage, command: cells.get(`${hostId}\u0000${stage}`) ?? null })),
    })),
  };
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
