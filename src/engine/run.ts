// The pipeline executor (see CORE-002): claims the hosts, runs the plan stage by stage with a
// barrier between stages, hosts in parallel up to `concurrency`, && semantics per host, and ends
// the run COMPLETE / PARTIAL / FAILED / CANCELLED. Everything it does is journaled first, then
// emitted as a RunEvent for renderers.
import { join } from 'node:path';
import { type CommandStatus, isTerminalCommand, type RunStatus } from '../domain/status.js';
import { waveName } from '../domain/wave-name.js';
import { EXIT } from '../errors/user-error.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import type { EventLevel, Journal } from '../store/types.js';
import { createRunCancellation, type RunCancellation } from './cancellation.js';
import { commandStatusEvent } from './command-status-event.js';
import { createHostTransports } from './host-transports.js';
import { runCommand } from './op-runner.js';
import { failedRollbacks } from './rollback.js';
import { batchesOf, rolloutRecordOf } from './rollout/batch-of.js';
import { pauseUnlessCancelled } from './rollout/rollout-pause.js';
import { type RolloutPlan, singleWave } from './rollout/rollout-plan.js';
import { createSchedule } from './rollout/scheduler.js';
import { createRunCommands, type RunCommands } from './run-commands.js';
import { exitCodeOf, runStatusOf } from './run-outcome.js';
import { refuseOversizedPrivateEnv } from './secrets/private-env.js';
import { redactionPatterns } from './secrets/secret-redactor.js';
import { inheritedSecretValues, resolveSecrets } from './secrets/secret-resolution.js';
import { secretVariables } from './secrets/secret-variables.js';
import { createTransportFactory } from './transports/factory.js';
import type { Plan, PlannedStage, RunEvent, RunEventListener, TransportFactory } from './types.js';

export interface StartRunOptions {
  readonly journal: Journal;
  /** Who started the run (`cli`, `dashboard`, `watch`), for the event log. */
  readonly actor: string;
  /** Most hosts running a stage at once; defaults to settings.concurrency. */
  readonly concurrency?: number;
  readonly onEvent?: RunEventListener;
  readonly transportFor?: TransportFactory;
  /** The run this one retries (journaled). */
  readonly retryOf?: string;
  /**
   * Only as the first retry of `retryOf` (`retry` without --force, the dashboard's Retry): the
   * journal refuses it with AlreadyRetriedError, before anything runs, when another retry of that
   * run was created since `prepareRetry` looked (CORE-002, retry).
   */
  readonly firstRetry?: boolean;
  /** Per host, the first stage to run (`nixfleet retry`); hosts absent from the map start at 0. */
  readonly fromStage?: ReadonlyMap<string, number>;
  /** Where `env:` secrets are read from; defaults to this process's environment. */
  readonly env?: NodeJS.ProcessEnv;
  /** False (`--no-rollback`): failed ops are not rolled back and no timer is armed (CORE-009). */
  readonly rollback?: boolean;
  /**
   * Asked once the run is journaled, before its first command starts: a cancel that came while
   * the secrets were read (CORE-010), carried out there, so that nothing starts.
   */
  readonly cancelBeforeStart?: (runId: string) => { kill?: boolean } | undefined;
  /**
   * Aborted on such a cancel: the secret being read is not waited for (its command is killed),
   * and the run is journaled cancelled, as `cancelBeforeStart` says or else letting nothing
   * start (CORE-010).
   */
  readonly secretsAbort?: AbortSignal;
}

export interface RunOutcome {
  readonly runId: string;
  readonly status: RunStatus;
  readonly exitCode: number;
}

export interface StartedRun {
  readonly runId: string;
  readonly done: Promise<RunOutcome>;
  /** First call: running commands finish, the rest is CANCELLED. With `kill`, running ones die too. */
  cancel(options?: { kill?: boolean }): void;
  /** Kills the running command of one host (it ends CANCELLED, the host drops out); the run goes on. */
  killHost(hostId: string): void;
}

/**
 * Reads the secrets the run uses, claims the plan's hosts and starts running it. Rejects with
 * HostsBusyError when a target host is busy, and UserError when a secret the run uses cannot be
 * read (CORE-010): then nothing was journaled and nothing runs.
 */
export async function startRun(plan: Plan, options: StartRunOptions): Promise<StartedRun> {
  const { journal } = options;
  const firstStageOf = (hostId: string) => options.fromStage?.get(hostId) ?? 0;
  const rollout = plan.rollout ?? singleWave(plan.hosts);
  const batchOf = batchesOf(
    rollout,
    plan.stages.map((stage) => stage.op.runsOn === 'controller'),
  );
  const wanted = plan.stages.flatMap((stage) =>
    stage.commands
      .filter((c) =>
        c.hostId === CONTROLLER_HOST_ID
          ? plan.hosts.some((h) => firstStageOf(h) <= stage.index)
          : firstStageOf(c.hostId) <= stage.index,
      )
      .map((c) => ({
        stage: stage.index,
        hostId: c.hostId,
        op: stage.op.id,
        batch: batchOf(c.hostId, stage.index),
        secrets: c.rendered.secrets ?? [],
      })),
  );
  // CORE-010: read once per run, only what the commands that will run use, before anything is journaled.
  const secrets = await resolveSecrets(
    plan.registry,
    wanted.flatMap((c) => c.secrets),
    options.env,
    options.secretsAbort,
  );
  refuseOversizedPrivateEnv(plan.stages, secrets);
  const created = journal.createRun({
    name: plan.target,
    targetKind: plan.targetKind,
    hosts: plan.hosts,
    stages: plan.stages.map((s) => s.op.id),
    commands: wanted.map(({ stage, hostId, op, batch }) => ({ stage, hostId, op, batch })),
    registryHash: plan.registry.hash,
    retryOf: options.retryOf ?? null,
    ...(options.firstRetry === true ? { firstRetry: true } : {}),
    actor: options.actor,
    rollout: rolloutRecordOf(rollout),
  });
  const runId = created.run.id;
  journal.logEvent({
    category: 'run',
    level: 'info',
    actor: options.actor,
    action: 'started',
    message: `run ${runId} started: ${plan.target} on ${plan.hosts.length} host(s)`,
    details: { runId, target: plan.target, hosts: plan.hosts, retryOf: options.retryOf ?? null },
  });
  const commands = createRunCommands(created.commands);
  const cancellation = createRunCancellation(journal, runId);
  const emit: RunEventListener = (event) => {
    try {
      options.onEvent?.(event);
    } catch {
      // A renderer's bug must not stop the fleet; the journal already has the truth.
    }
  };
  emit({
    type: 'run_started',
    runId,
    target: plan.target,
    hosts: plan.hosts,
    stages: plan.stages.map((s) => s.op.id),
    commands: created.commands.map((c) => ({
      commandId: c.id,
      stage: c.stage,
      hostId: c.hostId,
      op: c.op,
      batch: c.batch,
    })),
    rollout,
    retryOf: created.run.retryOf,
    retryableOps: plan.stages.filter((s) => s.op.retryable).map((s) => s.op.id),
    at: created.run.createdAt,
  });
  // Without all its secrets (reading them was aborted) a run must not start a command.
  const early = options.cancelBeforeStart?.(runId) ?? (options.secretsAbort?.aborted ? {} : undefined);
  if (early !== undefined) cancellation.request(early);
  const done = executeRun(plan, options, {
    runId,
    commands,
    cancellation,
    emit,
    rollout,
    secrets,
    // CORE-010: also the values of `env:` secrets it does not use, which its local commands inherit.
    redact: redactionPatterns([
      ...secrets.values(),
      ...inheritedSecretValues(plan.registry, [options.env ?? process.env, process.env]),
    ]),
  });
  return {
    runId,
    done,
    cancel: (cancelOptions) => cancellation.request(cancelOptions),
    killHost: (hostId) => cancellation.killHost(hostId),
  };
}

interface RunState {
  readonly runId: string;
  readonly commands: RunCommands;
  readonly cancellation: RunCancellation;
  readonly emit: RunEventListener;
  readonly rollout: RolloutPlan;
  readonly secrets: ReadonlyMap<string, string>;
  readonly redact: readonly string[];
}

async function executeRun(plan: Plan, options: StartRunOptions, state: RunState): Promise<RunOutcome> {
  const { journal } = options;
  const { runId, commands, cancellation, emit } = state;
  const transports = createHostTransports(
    options.transportFor ?? createTransportFactory({ controlDir: join(journal.dataDir, 'ssh') }),
    plan.registry,
    commands.all(),
  );
  const concurrency = options.concurrency ?? plan.registry.settings.concurrency;
  // CORE-008: the rollout scheduler decides what starts next and what is SKIPPED; it hears of every
  // status change and is asked after each.
  const schedule = createSchedule(state.rollout, commands.all());
  // Commands that took their host's transport and have not ended: only their end may close it.
  const holding = new Set<string>();
  const setStatus = (commandId: string, status: CommandStatus) => {
    const command = commands.byId(commandId);
    if (!command) return;
    const ends = !isTerminalCommand(command.status) && isTerminalCommand(status);
    commands.setStatus(commandId, status);
    schedule.update(command);
    if (ends) transports.ended(command.hostId, holding.delete(commandId));
  };
  const settle = (commandId: string, to: 'SKIPPED' | 'CANCELLED', reason: string | null = null) => {
    const record = journal.transitionCommand(commandId, to, reason !== null ? { error: reason } : undefined);
    setStatus(commandId, record.status);
    emit(commandStatusEvent(record));
  };
  // CORE-002: when the journal fails (a full disk, the journal replaced), nothing more can be
  // recorded, so nothing more may run: every running command is killed, queued ones never start,
  // and the run ends by rethrowing the failure once they all stopped.
  let journalFailure: { error: unknown } | undefined;
  const onJournalFailure = (error: unknown) => {
    if (journalFailure !== undefined) return;
    journalFailure = { error };
    cancellation.request({ kill: true });
  };
  cancellation.onJournalFailure(onJournalFailure);
  // Each stage's planned commands by host, looked up per start: a search of the stage's list was
  // quadratic in the fleet's size.
  const plannedOf = plan.stages.map((s) => new Map(s.commands.map((c) => [c.hostId, c])));
  // Ends the wait for a running command early: the scheduler learnt something (a host failed
  // while its rollback still runs) and must be asked again now.
  let wake: () => void = () => {};
  const holdTransport = (hostId: string, commandId: string) => {
    holding.add(commandId);
    return transports.of(hostId);
  };
  const variables = secretVariables(plan.registry);
  const runOne = async (stage: PlannedStage, hostId: string, commandId: string) => {
    if (cancellation.isRequested()) {
      settle(commandId, 'CANCELLED');
      return 'CANCELLED' as const;
    }
    const planned = plannedOf[stage.index]!.get(hostId)!;
    const status = await runCommand(
      {
        runId,
        commandId,
        hostId,
        stage: stage.index,
        op: stage.op,
        rendered: planned.rendered,
        transport: holdTransport(hostId, commandId),
        shell: plan.registry.settings.shell,
        secretVariables: variables,
        secrets: state.secrets,
        redact: state.redact,
      },
      {
        journal,
        actor: options.actor,
        emit,
        killSignal: cancellation.killSignalFor(hostId),
        isCancelRequested: cancellation.isRequested,
        ...(options.rollback === false ? { rollback: false } : {}),
        onJournalFailure,
        // CORE-008: a host that failed counts against the budget (or stops the canary) at once,
        // not only once its rollback ended: until then, queued commands must not start.
        onRollbackStart: (final) => {
          schedule.failing({ ...commands.byId(commandId)!, status: final });
          wake();
        },
      },
    );
    setStatus(commandId, status);
    return status;
  };

  // CORE-008: the rollout scheduler decides what starts next and what is SKIPPED; this loop only
  // does it, then waits for a running command to end and asks again.
  const released = new Set<number>();
  const running = new Map<string, Promise<void>>();
  let stopped: string | null = null;
  /** Op commands CANCELLED when the rollout stopped: more at the end means a later cancel killed one. */
  let cancelledAtStop = 0;
  let current: { batch: number; stage: number } | undefined;
  let journaled: { batch: number; stage: number } | undefined;
  try {
    try {
      for (;;) {
        if (cancellation.isRequested()) {
          await Promise.all(running.values());
          break;
        }
        const decision = schedule.decide(released, concurrency - running.size);
        // The first reason is the one the SKIPPED commands carry; later failures do not rewrite it.
        if (stopped === null && decision.stopped !== null) {
          stopped = decision.stopped;
          cancelledAtStop = commands.all().filter((c) => c.status === 'CANCELLED').length;
        }
        for (const { id, reason } of decision.skip) settle(id, 'SKIPPED', reason);
        if (decision.release) {
          // Every command of the waves before has ended: their last stage is finished now, not when
          // the next wave's first command starts (after the pause), so renderers close it in time.
          if (current) emit({ type: 'stage_finished', runId, stage: current.stage, at: Date.now() });
          current = undefined;
          if (released.size > 0 && state.rollout.pauseMs > 0) {
            const { pauseMs, batches } = state.rollout;
            const at = Date.now();
            const nextWave = waveName(decision.release.batch, batches);
            // Journaled, so that `runs`, `show` and the dashboard of any process say the run is
            // paused; the next wave's advanceRun, or the run's end, clears it (CORE-008).
            journal.pauseRun(runId, at + pauseMs, decision.release.batch);
            emit({ type: 'rollout_paused', runId, nextWave, until: at + pauseMs, ms: pauseMs, at });
            await pauseUnlessCancelled(pauseMs, cancellation.isRequested);
            if (cancellation.isRequested()) continue;
          }
          released.add(decision.release.batch);
          const { batch, hosts } = decision.release;
          emit({ type: 'batch_started', runId, batch, hosts, batches: state.rollout.batches, at: Date.now() });
          continue;
        }
        for (const id of decision.start) {
          const command = commands.byId(id)!;
          const stage = plan.stages[command.stage]!;
          if (current?.batch !== command.batch || current.stage !== command.stage) {
            if (current) emit({ type: 'stage_finished', runId, stage: current.stage, at: Date.now() });
            // Waves start one after the other (CORE-008), so the journaled wave and stage only move on.
            if (journaled === undefined || isLater(command, journaled)) {
              journal.advanceRun(runId, command.stage, command.batch);
              journaled = command;
            }
            current = { batch: command.batch, stage: command.stage };
            emit({
              type: 'stage_started',
              runId,
              stage: command.stage,
              op: stage.op.id,
              batch: command.batch,
              at: Date.now(),
            });
          }
          commands.markStarted(id);
          running.set(
            id,
            runOne(stage, command.hostId, id)
              .catch(onJournalFailure)
              .then(() => {
                running.delete(id);
              }),
          );
        }
        if (decision.start.length > 0 || decision.skip.length > 0) continue;
        if (running.size === 0) break;
        await Promise.race([
          ...running.values(),
          new Promise<void>((resolve) => {
            wake = resolve;
          }),
        ]);
      }
    } catch (error) {
      // The executor's own journal writes (SKIPPED, the wave, the pause) fail like a command's:
      // what runs is killed, and the run ends with the failure once it stopped.
      onJournalFailure(error);
      await Promise.all(running.values());
    }
    if (journalFailure !== undefined) throw journalFailure.error;
    const cancelled = cancellation.isRequested();
    // A stage is finished once each of its commands is: on a cancel, the ones still queued in it
    // end CANCELLED before its stage_finished, those of later stages after.
    const left = commands.pending();
    const inCurrent = (c: { stage: number; batch: number }) => c.stage === current?.stage && c.batch === current.batch;
    for (const c of left.filter(inCurrent)) settle(c.id, cancelled ? 'CANCELLED' : 'SKIPPED');
    if (current) emit({ type: 'stage_finished', runId, stage: current.stage, at: Date.now() });
    for (const c of left.filter((c) => !inCurrent(c))) settle(c.id, cancelled ? 'CANCELLED' : 'SKIPPED');
    const summaries = commands.all();
    // CORE-008: a rollout that stopped before the cancel was seen is the run's outcome, unless the
    // cancel then killed an op command still running: it interrupted work, as any cancel does.
    const killedWork = cancelled && summaries.filter((c) => c.status === 'CANCELLED').length > cancelledAtStop;
    const status = runStatusOf(plan.hosts, summaries, cancelled, stopped !== null && !killedWork);
    const finished = journal.finishRun(runId, status);
    journal.logEvent({
      category: 'run',
      level: RUN_FINISHED_LEVEL[status],
      actor: options.actor,
      action: 'finished',
      message: `run ${runId} ${status}: ${plan.target}${stopped !== null ? ` (${stopped})` : ''}`,
      details: { runId, status, stopped },
    });
    emit({
      type: 'run_finished',
      runId,
      status,
      ...(stopped !== null ? { stopped } : {}),
      at: finished.finishedAt ?? Date.now(),
    });
    // CORE-009: a rollback that did not succeed outranks every other outcome: a host needs a person.
    const rollbackFailed = failedRollbacks(journal, runId).length > 0;
    return { runId, status, exitCode: rollbackFailed ? EXIT.ROLLBACK_FAILED : exitCodeOf(status, summaries) };
  } finally {
    cancellation.stop();
    await transports.closeAll();
  }
}

/** How loud a finished run is in the event log: the dashboard and audits read it. */
const RUN_FINISHED_LEVEL: Readonly<Record<RunStatus, EventLevel>> = {
  RUNNING: 'info',
  COMPLETE: 'info',
  PARTIAL: 'warn',
  FAILED: 'error',
  CANCELLED: 'warn',
  ORPHANED: 'warn',
};

export type { RunEvent };

/** `a` is a later wave than `b`, or a later stage of the same wave. */
function isLater(a: { batch: number; stage: number }, b: { batch: number; stage: number }): boolean {
  return a.batch > b.batch || (a.batch === b.batch && a.stage > b.stage);
}
