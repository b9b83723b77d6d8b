// The pipeline executor (see CORE-002): claims the hosts, runs the plan stage by stage with a
// barrier between stages, hosts in parallel up to `concurrency`, && semantics per host, and ends
// the run COMPLETE / PARTIAL / FAILED / CANCELLED. Everything it does is journaled first, then
// emitted as a RunEvent for renderers.
import { join } from 'node:path';
import type { RunStatus } from '../domain/status.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import type { EventLevel, Journal } from '../store/types.js';
import { createRunCancellation, type RunCancellation } from './cancellation.js';
import { commandStatusEvent } from './command-status-event.js';
import { createConcurrencyLimiter } from './concurrency-limiter.js';
import { runCommand } from './op-runner.js';
import { createRunCommands, type RunCommands } from './run-commands.js';
import { exitCodeOf, runStatusOf } from './run-outcome.js';
import { createTransportFactory } from './transports/factory.js';
import type { Plan, PlannedStage, RunEvent, RunEventListener, Transport, TransportFactory } from './types.js';

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
  /** Per host, the first stage to run (`nixfleet retry`); hosts absent from the map start at 0. */
  readonly fromStage?: ReadonlyMap<string, number>;
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
}

/**
 * Claims the plan's hosts and starts running it. Throws HostsBusyError synchronously when a
 * target host is busy: then nothing was journaled and nothing runs.
 */
export function startRun(plan: Plan, options: StartRunOptions): StartedRun {
  const { journal } = options;
  const firstStageOf = (hostId: string) => options.fromStage?.get(hostId) ?? 0;
  const wanted = plan.stages.flatMap((stage) =>
    stage.commands
      .filter((c) =>
        c.hostId === CONTROLLER_HOST_ID
          ? plan.hosts.some((h) => firstStageOf(h) <= stage.index)
          : firstStageOf(c.hostId) <= stage.index,
      )
      .map((c) => ({ stage: stage.index, hostId: c.hostId, op: stage.op.id })),
  );
  const created = journal.createRun({
    name: plan.target,
    targetKind: plan.targetKind,
    hosts: plan.hosts,
    stages: plan.stages.map((s) => s.op.id),
    commands: wanted,
    registryHash: plan.registry.hash,
    retryOf: options.retryOf ?? null,
    actor: options.actor,
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
    commands: created.commands.map((c) => ({ commandId: c.id, stage: c.stage, hostId: c.hostId, op: c.op })),
    at: created.run.createdAt,
  });
  const done = executeRun(plan, options, { runId, commands, cancellation, emit });
  return { runId, done, cancel: (cancelOptions) => cancellation.request(cancelOptions) };
}

interface RunState {
  readonly runId: string;
  readonly commands: RunCommands;
  readonly cancellation: RunCancellation;
  readonly emit: RunEventListener;
}

async function executeRun(plan: Plan, options: StartRunOptions, state: RunState): Promise<RunOutcome> {
  const { journal } = options;
  const { runId, commands, cancellation, emit } = state;
  const factory = options.transportFor ?? createTransportFactory({ controlDir: join(journal.dataDir, 'ssh') });
  const transports = new Map<string, Transport>();
  const transportOf = (hostId: string) => {
    let transport = transports.get(hostId);
    if (!transport) {
      transport = factory(plan.registry.hosts.get(hostId), plan.registry);
      transports.set(hostId, transport);
    }
    return transport;
  };
  const limiter = createConcurrencyLimiter(options.concurrency ?? plan.registry.settings.concurrency);
  const active = new Set(plan.hosts);
  const settle = (commandId: string, to: 'SKIPPED' | 'CANCELLED') => {
    const record = journal.transitionCommand(commandId, to);
    commands.setStatus(commandId, record.status);
    emit(commandStatusEvent(record));
  };
  // CORE-002: a host whose command is not SUCCESS drops out; its later commands are SKIPPED at
  // once, which also frees the host for other runs.
  const dropHost = (hostId: string, afterStage: number) => {
    active.delete(hostId);
    const to = cancellation.isRequested() ? 'CANCELLED' : 'SKIPPED';
    for (const later of commands.pendingOf(hostId, afterStage)) settle(later.id, to);
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
  const guarded = async (task: () => Promise<void>) => {
    try {
      await task();
    } catch (error) {
      onJournalFailure(error);
    }
  };
  const runOne = async (stage: PlannedStage, hostId: string, commandId: string) => {
    if (cancellation.isRequested()) {
      settle(commandId, 'CANCELLED');
      return 'CANCELLED' as const;
    }
    const planned = stage.commands.find((c) => c.hostId === hostId)!;
    const status = await runCommand(
      {
        runId,
        commandId,
        hostId,
        stage: stage.index,
        op: stage.op,
        rendered: planned.rendered,
        transport: transportOf(hostId),
      },
      {
        journal,
        actor: options.actor,
        emit,
        killSignal: cancellation.killSignal,
        isCancelRequested: cancellation.isRequested,
        onJournalFailure,
      },
    );
    commands.setStatus(commandId, status);
    return status;
  };

  let currentStage = 0;
  try {
    for (const stage of plan.stages) {
      const stageCommands = commands.ofStage(stage.index);
      if (stageCommands.length === 0) continue;
      if (cancellation.isRequested()) break;
      if (stage.index !== currentStage) journal.advanceRun(runId, stage.index);
      currentStage = stage.index;
      emit({ type: 'stage_started', runId, stage: stage.index, op: stage.op.id, at: Date.now() });
      if (stage.op.runsOn === 'controller') {
        const controller = stageCommands[0]!;
        if (active.size === 0) settle(controller.id, 'SKIPPED');
        else {
          await limiter.run(() =>
            guarded(async () => {
              const status = await runOne(stage, CONTROLLER_HOST_ID, controller.id);
              // CORE-002: a controller op that fails stops every host.
              if (status !== 'SUCCESS') for (const host of [...active]) dropHost(host, stage.index);
            }),
          );
        }
      } else {
        await Promise.all(
          stageCommands
            .filter((c) => commands.statusOf(c.id) === 'PENDING')
            .map((c) =>
              limiter.run(() =>
                guarded(async () => {
                  const status = await runOne(stage, c.hostId, c.id);
                  if (status !== 'SUCCESS') dropHost(c.hostId, stage.index);
                }),
              ),
            ),
        );
      }
      if (journalFailure !== undefined) throw journalFailure.error;
      emit({ type: 'stage_finished', runId, stage: stage.index, at: Date.now() });
    }
    const cancelled = cancellation.isRequested();
    for (const left of commands.pending()) settle(left.id, cancelled ? 'CANCELLED' : 'SKIPPED');
    const summaries = commands.all();
    const status = runStatusOf(plan.hosts, summaries, cancelled);
    const finished = journal.finishRun(runId, status);
    journal.logEvent({
      category: 'run',
      level: RUN_FINISHED_LEVEL[status],
      actor: options.actor,
      action: 'finished',
      message: `run ${runId} ${status}: ${plan.target}`,
      details: { runId, status },
    });
    emit({ type: 'run_finished', runId, status, at: finished.finishedAt ?? Date.now() });
    return { runId, status, exitCode: exitCodeOf(status, summaries) };
  } finally {
    cancellation.stop();
    await Promise.all([...transports.values()].map((t) => t.close().catch(() => {})));
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
