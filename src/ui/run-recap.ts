// The end of a run in every human renderer (tty and plain, see CORE-002, the recap): per host how
// many commands were ok / failed / skipped (and cancelled, when any were) and, for a host that did
// not complete, what stopped it; past a few hosts, hosts alike fold into one row with a count; then
// the run's status line and the next step (`nixfleet show`, `nixfleet retry`).
import { groupBy } from '../domain/group-by.js';
import { LISTED_HOSTS } from '../domain/host-names.js';
import { type GlobalFlags, nixfleetCommand } from '../domain/nixfleet-command.js';
import { shellQuote } from '../domain/shell-quote.js';
import { planRetry, unsafeToRerun } from '../engine/retry-plan.js';
import { completedHostsOf } from '../engine/run-outcome.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import { formatElapsed } from './elapsed.js';
import { hostLabel, hostWithBatch } from './host-label.js';
import { rollbackText } from './rollback-text.js';
import { type CommandView, isFailure, isNotRun, notRunText, type RunView, rollbackOfCommand } from './run-view.js';

export interface HostRecap {
  readonly hostId: string;
  readonly ok: number;
  readonly failed: number;
  readonly skipped: number;
  /** Commands cancelled (a cancel of the run, a kill of the host): not the same as SKIPPED. */
  readonly cancelled: number;
  /** The host with its rollout batch, `h2 [batch 1/3]` (CORE-008). */
  readonly name: string;
  /** The first failed command of the host (or of the controller op that stopped it), in words. */
  readonly reason: string | null;
}

export function hostRecaps(view: RunView): HostRecap[] {
  const commands = [...view.commands.values()];
  const hosts = commands.some((c) => c.hostId === CONTROLLER_HOST_ID)
    ? [CONTROLLER_HOST_ID, ...view.hosts]
    : [...view.hosts];
  // A rollback (CORE-009) is not one of the host's stages: it shows in the failure's reason.
  // Grouped once: a search of every command per host was quadratic in the run's size.
  const byHost = groupBy(
    commands.filter((c) => c.rollbackOf === null),
    (c) => c.hostId,
  );
  // What stopped a host that has no failure of its own: the controller op (notRunReason looked
  // through every command of the run for each such host, quadratic at 3,000 hosts).
  const controllerFailures = (byHost.get(CONTROLLER_HOST_ID) ?? [])
    .filter((c) => isFailure(c.status))
    .sort((a, b) => a.stage - b.stage);
  const notRunWhy = (command: CommandView) =>
    notRunText(
      command,
      controllerFailures.find((c) => c.stage < command.stage),
    );
  // No host completes while a controller op of the run did not (completedHostsOf): a host whose
  // own ops all succeeded says which, or the recap listed it among the completed while the status
  // line said `0/6 host(s) completed`.
  const controllerNotDone = (byHost.get(CONTROLLER_HOST_ID) ?? [])
    .filter((c) => c.status !== 'SUCCESS')
    .sort((a, b) => a.stage - b.stage)[0];
  // The controller's own row says why.
  const controllerWhy = controllerNotDone && `controller op ${controllerNotDone.op} ${controllerNotDone.status}`;
  return hosts.map((hostId) => {
    const own = (byHost.get(hostId) ?? []).sort((a, b) => a.stage - b.stage);
    const failed = own.find((c) => isFailure(c.status));
    const firstNotRun = own.find((c) => isNotRun(c.status));
    // CORE-009: how the failed op's rollback went belongs to why the host did not complete.
    const rollback = failed ? rollbackOfCommand(view, failed.commandId) : undefined;
    const rolledBack = rollback ? `, ${rollbackText(rollback)}` : '';
    const batch = own.find((c) => c.batch !== null)?.batch ?? null;
    return {
      hostId,
      name: hostWithBatch(view, { hostId, batch }),
      ok: own.filter((c) => c.status === 'SUCCESS').length,
      failed: own.filter((c) => isFailure(c.status)).length,
      skipped: own.filter((c) => c.status === 'SKIPPED').length,
      cancelled: own.filter((c) => c.status === 'CANCELLED').length,
      reason: failed
        ? `${failureText(failed)}${rolledBack}`
        : firstNotRun
          ? notRunWhy(firstNotRun)
          : hostId === CONTROLLER_HOST_ID
            ? null
            : (controllerWhy ?? null),
    };
  });
}

/** `deploy ERROR: exit code 3`. */
export function failureText(command: CommandView): string {
  return `${command.op} ${command.status}${command.error ? `: ${command.error}` : ''}`;
}

/** `run r1 PARTIAL: 38/40 host(s) completed (12.3s)`. */
export function runStatusLine(view: RunView): string {
  const elapsed = formatElapsed((view.finishedAt ?? Date.now()) - view.startedAt);
  const completed = completedHostsOf(view.hosts, [...view.commands.values()]).length;
  return `run ${view.runId} ${view.status}: ${completed}/${view.hosts.length} host(s) completed (${elapsed})`;
}

/**
 * The recap block. Hosts that did not complete come last, next to the status line, so a large
 * fleet's failures are what stays on screen; many completed hosts fold into one line.
 */
export function recapLines(view: RunView, flags: GlobalFlags = {}): string[] {
  const recaps = hostRecaps(view);
  const { completed, stopped } = recapRows(recaps);
  const rows = [...completed, ...stopped];
  const width = Math.max(...rows.map((row) => row.label.length), 4);
  // Cancelled commands get a column of their own, only in a run that has some.
  const withCancelled = recaps.some((r) => r.cancelled > 0);
  const lines = [`RECAP ${view.runId} ${view.target}`];
  for (const { label, counts: r, note } of rows) {
    const count = (name: string, n: number) => `${name}=${String(n).padEnd(3)}`;
    const counts = [
      count('ok', r.ok),
      count('failed', r.failed),
      count('skipped', r.skipped),
      ...(withCancelled ? [count('cancelled', r.cancelled)] : []),
    ].join(' ');
    lines.push(`  ${label.padEnd(width)}  ${counts}${note ? ` ${note}` : ''}`.trimEnd());
  }
  if (view.stopped) lines.push(`rollout stopped: ${view.stopped}`);
  lines.push(runStatusLine(view));
  lines.push(...nextStep(view, recaps, flags));
  return lines;
}

/** One row of the recap: a host, or hosts folded by their counts and reason (`2998 hosts`). */
export interface RecapRow {
  readonly label: string;
  readonly counts: HostRecap;
  /**
   * What stopped the host; for a folded row, that and a few of its hosts (`all completed: h1, h2,
   * h3, …`, `failure budget exceeded: … (h4, h5, h6, …)`).
   */
  readonly note: string | null;
}

/**
 * The hosts that completed, one row each or, past LISTED_HOSTS (domain/host-names.ts), one row per
 * count pattern; and those that did not, one row each or, past LISTED_HOSTS, one row per count
 * pattern and reason: a rollout stopped by its budget at 3,000 hosts printed 1,932 rows of the same
 * reason. Every distinct reason keeps a row. Hosts that failed come before hosts that were only
 * skipped or cancelled, and keep a row each while they are few.
 */
export function recapRows(recaps: readonly HostRecap[]): { completed: RecapRow[]; stopped: RecapRow[] } {
  const completed = recaps.filter((r) => r.reason === null);
  const stopped = recaps.filter((r) => r.reason !== null);
  const rows = (group: readonly HostRecap[]) => (group.length > LISTED_HOSTS ? foldAlike(group) : group.map(hostRow));
  return {
    completed: rows(completed),
    stopped:
      stopped.length > LISTED_HOSTS
        ? [...rows(stopped.filter((r) => r.failed > 0)), ...rows(stopped.filter((r) => r.failed === 0))]
        : stopped.map(hostRow),
  };
}

function hostRow(r: HostRecap): RecapRow {
  return { label: r.name, counts: r, note: r.reason };
}

/** One row per count pattern and reason, in the order the first host of each came; a host alone keeps its own row. */
function foldAlike(recaps: readonly HostRecap[]): RecapRow[] {
  const groups = groupBy(recaps, (r) => `${r.ok}/${r.failed}/${r.skipped}/${r.cancelled}/${r.reason ?? ''}`);
  return [...groups.values()].map((group) => {
    const first = group[0]!;
    if (group.length === 1) return hostRow(first);
    const names = group.map((r) => hostLabel(r.hostId));
    const listed = names.length <= 3 ? names.join(', ') : `${names.slice(0, 3).join(', ')}, …`;
    const note = first.reason === null ? `all completed: ${listed}` : `${first.reason} (${listed})`;
    return { label: `${group.length} hosts`, counts: first, note };
  });
}

/**
 * The `retry` to suggest: with --force when an op that may have run would run again and is not
 * marked retryable, as `retry` would refuse it without (CORE-002, hints).
 */
export function retryStep(view: RunView, flags: GlobalFlags): { command: string; unsafe: string[] } {
  const { rerun } = planRetry(view, [...view.commands.values()]);
  const unsafe = unsafeToRerun(rerun, (op) => view.retryableOps.has(op));
  return { command: nixfleetCommand(`retry ${view.runId}${unsafe.length > 0 ? ' --force' : ''}`, flags), unsafe };
}

function nextStep(view: RunView, recaps: readonly HostRecap[], flags: GlobalFlags): string[] {
  const steps: [string, string][] = [[nixfleetCommand(`show ${view.runId}`, flags), 'every command of the run']];
  if (view.status !== 'COMPLETE') {
    // A host's output first; the controller's when only it failed (`--host @controller`, as
    // `logs` takes it, where the recap's row says `controller`).
    const failed =
      recaps.find((r) => r.failed > 0 && r.hostId !== CONTROLLER_HOST_ID) ?? recaps.find((r) => r.failed > 0);
    if (failed)
      steps.push([
        nixfleetCommand(`logs ${view.runId} --host ${shellQuote(failed.hostId)}`, flags),
        `what ${hostLabel(failed.hostId)} printed`,
      ]);
    const stopped = recaps.filter((r) => r.reason !== null && r.hostId !== CONTROLLER_HOST_ID).map((r) => r.hostId);
    const who =
      stopped.length === 0
        ? 'what did not complete'
        : stopped.length <= 3
          ? stopped.join(', ')
          : `${stopped.length} hosts`;
    const { command, unsafe } = retryStep(view, flags);
    steps.push([
      command,
      unsafe.length === 0
        ? `rerun ${who} from where it stopped`
        : `rerun ${who} from where it stopped; ${unsafe.join(', ')} ${unsafe.length === 1 ? 'is' : 'are'} not marked retryable`,
    ]);
  }
  const width = Math.max(...steps.map(([command]) => command.length));
  return steps.map(([command, what], i) => `${i === 0 ? 'next:' : '     '} ${command.padEnd(width)}  ${what}`);
}
