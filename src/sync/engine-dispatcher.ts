// Runs dispatched from the dashboard (see CORE-004): planned from the server's current registry
// snapshot and executed in the server process by the same engine as `nixfleet apply`.
import { hostNames } from '../domain/host-names.js';
import { isTerminalCommand } from '../domain/status.js';
import { buildPlan } from '../engine/plan.js';
import { prepareRetry, retryRefusal } from '../engine/retry-request.js';
import { canaryCapText } from '../engine/rollout/rollout-plan.js';
import { type StartedRun, startRun } from '../engine/run.js';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';
import type { Journal } from '../store/types.js';
import { type ApplyRequest, type CancelRequest, type RunDispatcher, ServerStoppingError } from './run-dispatcher.js';

export interface EngineDispatcherOptions {
  readonly journal: Journal;
  /** The current registry snapshot; throws while the fleet file has never compiled. */
  readonly registry: () => Registry;
  /** Told when a run this process started ends (or fails inside the engine). */
  readonly onFinished?: (runId: string, outcome: { status: string; exitCode: number } | Error) => void;
}

export interface EngineDispatcher extends RunDispatcher {
  /** Runs started here and still going. */
  readonly active: ReadonlyMap<string, StartedRun>;
  /**
   * Stops for good: from now on apply and retry reject with ServerStoppingError. Asks every run
   * started here to cancel (with `kill`, running commands die too), including one whose start was
   * under way, and resolves when all have ended, with how many were asked to cancel. Called again
   * (a second signal), it asks again and resolves when all have ended too.
   */
  stopAll(options?: { kill?: boolean }): Promise<number>;
  /**
   * Records ORPHANED the runs started here that failed inside the engine (their journal was lost
   * under them: CORE-002 stops such a run and kills what it ran, and its row stays RUNNING). A
   * process that exits leaves them to the next one's recovery; serve lives on and renews its
   * lease, so nothing else ever would, and their hosts stayed busy until serve stopped. Called
   * from serve's recovery tick; a run whose journal is still away is tried again at the next.
   */
  settleFailedRuns(): void;
}

export function createEngineDispatcher(options: EngineDispatcherOptions): EngineDispatcher {
  const { journal } = options;
  const active = new Map<string, StartedRun>();
  const failed = new Set<string>();
  // Starts under way (planned, claiming hosts, journaling): stopAll waits for them, so that a run
  // accepted just before the signal is cancelled and awaited like the others.
  const starting = new Set<Promise<unknown>>();
  let stopping = false;
  // Aborted by stopAll: a start still reading its secrets does not wait for them (CORE-010), and
  // its run is journaled cancelled.
  const secretsAbort = new AbortController();
  const start = async <T>(begin: () => Promise<T>): Promise<T> => {
    if (stopping) throw new ServerStoppingError();
    const started = begin();
    starting.add(started);
    try {
      return await started;
    } finally {
      starting.delete(started);
    }
  };

  const currentRegistry = (): Registry => {
    try {
      return options.registry();
    } catch {
      throw new UserError('the fleet file has not compiled yet, so nothing can be planned', {
        hint: 'fix the errors `nixfleet serve` printed; the page updates on the next good save',
      });
    }
  };
  const track = (started: StartedRun) => {
    active.set(started.runId, started);
    started.done.then(
      (outcome) => {
        active.delete(started.runId);
        options.onFinished?.(started.runId, outcome);
      },
      (error: unknown) => {
        active.delete(started.runId);
        failed.add(started.runId);
        options.onFinished?.(started.runId, error instanceof Error ? error : new Error(String(error)));
      },
    );
    return { runId: started.runId };
  };

  return {
    active,
    async apply(request: ApplyRequest) {
      // UserError for an unknown target or a selector matching nothing; HostsBusyError when a
      // target host is held by another run. Either way nothing was journaled.
      return start(async () => {
        const noRollback = request.rollback === false ? ({ rollback: false } as const) : {};
        const plan = buildPlan(currentRegistry(), request.target, request.on, undefined, noRollback);
        const started = track(
          await startRun(plan, { journal, actor: 'dashboard', secretsAbort: secretsAbort.signal, ...noRollback }),
        );
        // CORE-008: a capped canary is said to whoever started the run, as `apply` says it on stderr.
        const capped = plan.rollout ? canaryCapText(plan.rollout) : null;
        return capped === null ? started : { ...started, notice: capped };
      });
    },
    async retry(runId: string) {
      // The CLI's rules (CORE-002, retry); --force stays a CLI decision, made by a person.
      return start(async () => {
        const forceHint = `mark them \`retryable: true\` if running them twice is safe, or run \`nixfleet retry ${runId} --force\``;
        const retry = prepareRetry(currentRegistry(), journal, runId, { forceHint });
        if (retry.kind === 'nothing') return { nothing: retry.message };
        const started = await startRun(retry.plan, {
          journal,
          actor: 'dashboard',
          retryOf: runId,
          firstRetry: true,
          fromStage: retry.fromStage,
          secretsAbort: secretsAbort.signal,
        }).catch((error: unknown) => {
          throw retryRefusal(error, { forceHint });
        });
        return track(started);
      });
    },
    cancel(runId: string, request: CancelRequest = {}) {
      const run = journal.getRun(runId);
      if (!run) return undefined;
      if (request.hostId !== undefined && !run.hosts.includes(request.hostId)) {
        throw new UserError(`run ${runId} has no host \`${request.hostId}\``, {
          hint: `its hosts: ${hostNames(run.hosts)}`,
        });
      }
      // A run of this process stops through its engine at once; any other process's run
      // notices the journaled request (CORE-002, cancel; CORE-011, kill).
      const own = active.get(runId);
      if (own && request.hostId !== undefined) own.killHost(request.hostId);
      else if (own) own.cancel(request.kill ? { kill: true } : {});
      if (run.status !== 'RUNNING') return run;
      return journal.requestCancel(runId, {
        ...(request.kill ? { kill: true } : {}),
        ...(request.hostId !== undefined ? { hostId: request.hostId } : {}),
      });
    },
    settleFailedRuns() {
      for (const runId of failed) {
        if (journal.getRun(runId)?.status === 'RUNNING') orphanFailedRun(journal, runId);
        failed.delete(runId);
      }
    },
    async stopAll(stopOptions = {}) {
      stopping = true;
      secretsAbort.abort();
      const cancelled = new Set<string>();
      // Until nothing runs and nothing is starting: a start under way when the signal came ends in
      // a run (cancelled here once it is tracked) or in a refusal.
      while (active.size > 0 || starting.size > 0) {
        const runs = [...active.values()];
        for (const run of runs) {
          run.cancel(stopOptions);
          cancelled.add(run.runId);
        }
        await Promise.allSettled([...starting, ...runs.map((run) => run.done)]);
      }
      return cancelled.size;
    },
  };
}

/** Every unfinished command of the run, then the run, ORPHANED, and a warning in the event log. */
function orphanFailedRun(journal: Journal, runId: string): void {
  const unfinished = journal.listCommands({ runId, limit: 1_000_000 }).filter((c) => !isTerminalCommand(c.status));
  for (const command of unfinished) {
    const error =
      command.startedAt === null
        ? 'orphaned: never started: the journal was lost before it started'
        : 'orphaned: the journal was lost while it ran, and nixfleet killed it';
    journal.transitionCommand(command.id, 'ORPHANED', { error });
  }
  journal.finishRun(runId, 'ORPHANED');
  journal.logEvent({
    category: 'recovery',
    level: 'warn',
    actor: 'serve',
    action: 'orphaned',
    message: `run ${runId} lost its journal while it ran: marked it and ${unfinished.length} command(s) ORPHANED`,
    details: { runs: [runId], commands: unfinished.map((c) => c.id) },
  });
}
