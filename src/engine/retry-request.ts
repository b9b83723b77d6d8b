// The rules of a retry, shared by `nixfleet retry` and the dashboard's Retry button (see
// CORE-002, retry): what to run again for a finished run, checked against the current registry.
// Throws UserError when the run cannot be retried as asked; the host locks are taken by startRun,
// as for any run.
import { hostNames } from '../domain/host-names.js';
import { type GlobalFlags, nixfleetCommand, recentRunsHint } from '../domain/nixfleet-command.js';
import type { RunStatus } from '../domain/status.js';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';
import { AlreadyRetriedError } from '../store/already-retried-error.js';
import type { Journal } from '../store/types.js';
import { buildPlan } from './plan.js';
import { planRetry, unsafeToRerun } from './retry-plan.js';
import { type RolloutOverrides, resumeRollout, singleWave } from './rollout/rollout-plan.js';
import type { Plan, PlanOptions } from './types.js';

/**
 * A retry refused where its run was created, because another retry of the same run was created
 * first (AlreadyRetriedError, CORE-002 retry), said as `prepareRetry` says it; any other error as
 * it is.
 */
export function retryRefusal(error: unknown, options: { readonly forceHint?: string } = {}): unknown {
  if (!(error instanceof AlreadyRetriedError)) return error;
  return alreadyRetried(error.runId, error.laterId, error.laterStatus, options.forceHint);
}

function alreadyRetried(runId: string, laterId: string, laterStatus: RunStatus, forceHint?: string): UserError {
  return new UserError(`run ${runId} was already retried by ${laterId} (${laterStatus})`, {
    hint: `retry ${laterId} instead, the newest attempt${forceHint === undefined ? `, or pass --force to run again what ${runId} left` : ''}`,
  });
}

export type RetryRequest =
  | { readonly kind: 'nothing'; readonly message: string }
  | { readonly kind: 'run'; readonly plan: Plan; readonly fromStage: ReadonlyMap<string, number> };

export function prepareRetry(
  registry: Registry,
  journal: Journal,
  runId: string,
  /** With `rollback: false` (--no-rollback) the plan renders no rollback (CORE-009). */
  options: PlanOptions & {
    readonly force?: boolean;
    readonly forceHint?: string;
    readonly rollout?: RolloutOverrides;
    /** The global flags the commands in hints repeat (CORE-002, hints). */
    readonly flags?: GlobalFlags;
  } = {},
): RetryRequest {
  const previous = journal.getRun(runId);
  if (!previous) throw new UserError(`no run \`${runId}\``, { hint: recentRunsHint(options.flags) });
  if (previous.status === 'RUNNING') {
    throw new UserError(`run ${runId} is still running`, {
      hint: `wait for it, or \`${nixfleetCommand(`cancel ${runId}`, options.flags)}\``,
    });
  }
  const previousCommands = journal.listCommands({ runId, limit: 1_000_000 });
  const retry = planRetry(previous, previousCommands);
  if (retry.fromStage.size === 0) {
    return { kind: 'nothing', message: `run ${runId} completed on every host; nothing to retry` };
  }
  // A run is retried once: a second retry of it would run again what the first already did.
  // The newest attempt is the one to retry (CORE-002).
  // Checked again where the retry's run is created (firstRetry), for a retry that came meanwhile.
  const [later] = journal.listRuns({ retryOf: runId, limit: 1 });
  if (later !== undefined && options.force !== true) {
    throw alreadyRetried(runId, later.id, later.status, options.forceHint);
  }
  const hosts = [...retry.fromStage.keys()];
  const gone = hosts.filter((h) => !registry.hosts.has(h));
  if (gone.length > 0) {
    throw new UserError(`host(s) of run ${runId} no longer in the fleet file: ${hostNames(gone)}`, {
      hint: `apply the pipeline again with \`${nixfleetCommand(`apply ${previous.name} --on ...`, options.flags)}\``,
    });
  }
  // CORE-008: the retry keeps the run's canary, batches, budget and pause, each host in its batch;
  // given rollout flags, its hosts are planned afresh, as `apply` would with them.
  // A rollback row has no batch (CORE-009): only the ops' own rows say where a host was.
  const batchOf = new Map(previousCommands.filter((c) => c.rollbackOf === null).map((c) => [c.hostId, c.batch ?? 1]));
  // A canary that completed in the run has done its work: the fleet file's `canary:` would make
  // the first host retried one, the host that failed when the run stopped by its budget. Only
  // `--canary` asks for one again.
  const canary = previous.rollout?.canary ?? [];
  const canaryDone = canary.length > 0 && canary.every((h) => !retry.fromStage.has(h));
  const rollout =
    options.rollout !== undefined && Object.keys(options.rollout).length > 0
      ? { ...(canaryDone ? { canary: { count: 0 } } : {}), ...options.rollout }
      : previous.rollout === null
        ? singleWave(hosts)
        : resumeRollout(previous.rollout, hosts, (host) => batchOf.get(host) ?? 1);
  const plan = buildPlan(registry, previous.name, hosts.join(','), rollout, options);
  const ops = plan.stages.map((s) => s.op.id);
  if (ops.join(' ') !== previous.stages.join(' ')) {
    throw new UserError(
      `${previous.name} now runs [${ops.join(', ')}], but run ${runId} ran [${previous.stages.join(', ')}]`,
      {
        hint: `stages no longer line up; apply it again with \`${nixfleetCommand(`apply ${previous.name}`, options.flags)}\``,
      },
    );
  }
  const unsafe = unsafeToRerun(retry.rerun, (op) => registry.ops.get(op)?.retryable === true);
  if (unsafe.length > 0 && options.force !== true) {
    throw new UserError(`op(s) not marked retryable would run again: ${unsafe.join(', ')}`, {
      hint:
        options.forceHint ??
        'mark them `retryable: true` in the fleet file if running them twice is safe, or pass --force',
    });
  }
  return { kind: 'run', plan, fromStage: retry.fromStage };
}
