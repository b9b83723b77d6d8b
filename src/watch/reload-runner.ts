// `watch --run TARGET`: applies TARGET once the registry is valid and again after every good
// reload (see CORE-006, re-runs). Each run is planned from the snapshot current when it starts
// and keeps it to the end (the Plan holds its Registry); saves during a run queue one re-run.
import { buildPlan } from '../engine/plan.js';
import type { RolloutOverrides } from '../engine/rollout/rollout-plan.js';
import { type RunOutcome, type StartedRun, startRun } from '../engine/run.js';
import type { Plan, RunEventListener, TransportFactory } from '../engine/types.js';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';
import { HostsBusyError } from '../store/hosts-busy-error.js';
import type { Journal } from '../store/types.js';
import { createRerunQueue } from './rerun-queue.js';

export interface ReloadRunnerOptions {
  readonly target: string | undefined;
  readonly selector: string | undefined;
  readonly journal: Journal;
  readonly actor: string;
  readonly concurrency?: number;
  /** --batch, --canary, --max-failures (CORE-008): for every run, over the pipeline's own. */
  readonly rollout?: RolloutOverrides;
  /** False with --no-rollback (CORE-009). */
  readonly rollback?: false;
  readonly transportFor?: TransportFactory;
  /** The snapshot a new run starts from (the watcher's current one). */
  current(): Registry;
  /** Run events for the renderer of each run, given the plan it runs. */
  listenerFor?(plan: Plan): RunEventListener | undefined;
  /** About to start a run of `plan`, planned from registry version `registryVersion`. */
  onStarting?(plan: Plan, registryVersion: number): void;
  onStarted?(run: StartedRun, plan: Plan, registryVersion: number): void;
  /** The run ended; the next queued run waits for what this returns. */
  onFinished?(outcome: RunOutcome): void | Promise<void>;
  /** The run could not start: unknown target, selector matching nothing, busy hosts. */
  onNotStarted?(message: string, hint?: string): void;
  /** A stop came while run `runId` read its secrets (CORE-010): it starts cancelled, nothing runs. */
  onCancelledAtStart?(runId: string): void;
  /**
   * A run could not go on and no later one may start: its journal failed mid-run (`runId` is the
   * run the engine stopped, its commands killed; CORE-002), or starting or finishing it failed
   * (`runId` undefined). Watching ends with `error` (CORE-006); no queued or later run starts.
   */
  onFatal?(error: unknown, runId: string | undefined): void | Promise<void>;
  /** A reload arrived during run `runId`: one re-run is queued behind it. */
  onQueued?(runId: string): void;
  /** The in-process registry version, for messages. */
  version(): number;
}

export interface ReloadRunner {
  /** A good snapshot is current (at start or after a reload): run now or queue one. */
  request(): void;
  /** The run in progress, if any. */
  readonly active: StartedRun | undefined;
  /** The outcome of the last finished run, if any. */
  readonly lastOutcome: RunOutcome | undefined;
  /**
   * Cancels the run in progress (kill: its commands too), also one still reading its secrets, drops
   * the queued one, waits for the end. True when it cancelled a run. Called again with `kill`, it
   * kills what the first call let finish.
   */
  stop(options?: { cancel?: boolean; kill?: boolean }): Promise<boolean>;
}

export function createReloadRunner(options: ReloadRunnerOptions): ReloadRunner {
  let active: StartedRun | undefined;
  let lastOutcome: RunOutcome | undefined;
  // A stop that came while a run was still reading its secrets (CORE-010) reaches it once it is
  // journaled, before its first command starts (`cancelBeforeStart`).
  let stopping: { cancel?: boolean; kill?: boolean } | undefined;
  // Aborted by that stop: the secret being read is not waited for.
  let secretsAbort: AbortController | undefined;
  let cancelledRun = false;
  // Set once a run failed past recovery: nothing runs after it.
  let failed = false;

  const queue = createRerunQueue(async () => {
    if (failed) return;
    // The run whose `done` rejected: the engine stopped it and killed its commands (CORE-002).
    let stoppedRun: string | undefined;
    try {
      const started = await startFromCurrent();
      if (!started) return;
      active = started;
      // A kill asked for while the run was being journaled.
      if (stopping?.kill) started.cancel({ kill: true });
      try {
        lastOutcome = await started.done.catch((error: unknown) => {
          stoppedRun = started.runId;
          throw error;
        });
        await options.onFinished?.(lastOutcome);
      } finally {
        active = undefined;
      }
    } catch (error) {
      // Not left as a rejection nobody awaits, which ended the process with a stack trace.
      failed = true;
      if (options.onFatal === undefined) throw error;
      await options.onFatal(error, stoppedRun);
    }
  });

  async function startFromCurrent(): Promise<StartedRun | undefined> {
    try {
      const plan = buildPlan(options.current(), options.target, options.selector, options.rollout, options);
      options.onStarting?.(plan, options.version());
      const listener = options.listenerFor?.(plan);
      secretsAbort = new AbortController();
      const started = await startRun(plan, {
        secretsAbort: secretsAbort.signal,
        journal: options.journal,
        actor: options.actor,
        ...(options.concurrency === undefined ? {} : { concurrency: options.concurrency }),
        ...(options.rollback === false ? { rollback: false } : {}),
        ...(options.transportFor === undefined ? {} : { transportFor: options.transportFor }),
        ...(listener === undefined ? {} : { onEvent: listener }),
        cancelBeforeStart: (runId) => {
          if (!stopping?.cancel) return undefined;
          cancelledRun = true;
          options.onCancelledAtStart?.(runId);
          return stopping.kill ? { kill: true } : {};
        },
      });
      options.onStarted?.(started, plan, options.version());
      return started;
    } catch (error) {
      // A save may remove the target or every host its selector matched; the next save may fix it.
      if (error instanceof UserError) options.onNotStarted?.(error.message, error.hint);
      else if (error instanceof HostsBusyError) options.onNotStarted?.(error.message, 'it runs after the next save');
      else throw error;
      return undefined;
    }
  }

  return {
    request() {
      if (failed) return;
      if (active && !queue.isQueued) options.onQueued?.(active.runId);
      queue.request();
    },
    get active() {
      return active;
    },
    get lastOutcome() {
      return lastOutcome;
    },
    async stop(stopOptions = {}) {
      stopping = {
        cancel: stopping?.cancel === true || stopOptions.cancel === true,
        kill: stopping?.kill === true || stopOptions.kill === true,
      };
      if (stopOptions.cancel) secretsAbort?.abort();
      if (stopOptions.cancel && active) {
        active.cancel(stopOptions.kill ? { kill: true } : {});
        cancelledRun = true;
      }
      await queue.stop();
      return cancelledRun;
    },
  };
}
