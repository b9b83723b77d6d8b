// What every renderer and report knows about a run: folded from RunEvents only, never from the
// engine's state (specs/README.md, the one-way flow: renderers only display).

import type { ArmedState } from '../domain/armed-state.js';
import { type CommandStatus, isTerminalCommand, type RunStatus } from '../domain/status.js';
import { waveName } from '../domain/wave-name.js';
import type { RolloutPlan } from '../engine/rollout/rollout-plan.js';
import type { RunEvent } from '../engine/types.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';

/** Characters of output kept per command for failure excerpts and live tails. */
const VIEW_TAIL_LIMIT = 4096;

export interface CommandView {
  readonly commandId: string;
  readonly hostId: string;
  readonly op: string;
  readonly stage: number;
  /** The rollout batch (0: canary), null when unknown (see CORE-008). */
  readonly batch: number | null;
  status: CommandStatus;
  attempt: number;
  exitCode: number | null;
  error: string | null;
  durationMs: number | null;
  /** When the command left PENDING (its precheck or run began); null while it waits for a slot. */
  startedAt: number | null;
  tail: string;
  /** For a rollback, the command it undoes (CORE-009). */
  rollbackOf: string | null;
  /** For a failed op, the rollback that runs (or is about to run) where it failed (CORE-009). */
  rollbackId: string | null;
  /** For an op under an armed rollback timer, its delay and state (CORE-009). */
  armed: { delayMs: number; state: ArmedState } | null;
}

export interface RunView {
  runId: string;
  /** The run this one retries (CORE-002, retry), else null. */
  retryOf: string | null;
  /** The run's ops marked `retryable` (CORE-002, hints: the retry step). */
  retryableOps: ReadonlySet<string>;
  target: string;
  hosts: readonly string[];
  stages: readonly string[];
  status: RunStatus;
  startedAt: number;
  finishedAt: number | null;
  /** Stages whose stage_started arrived. */
  readonly startedStages: Set<number>;
  rollout: RolloutPlan | null;
  /** The rollout wave started last (0: canary), null before the first (see CORE-008). */
  currentBatch: number | null;
  /** Why the rollout stopped early, if it did (see CORE-008). */
  stopped: string | null;
  /** While the rollout waits its `pause` before the next wave (CORE-008): which wave, and until when. */
  pause: { readonly nextWave: string; readonly until: number; readonly ms: number } | null;
  /** In run_started order: by stage, then host. */
  readonly commands: Map<string, CommandView>;
  /** Rollback commands by the id of the command they undo (CORE-009): looked up per failed host per frame. */
  readonly rollbacks: Map<string, CommandView>;
}

export function createRunView(): RunView {
  return {
    runId: '',
    retryOf: null,
    retryableOps: new Set(),
    target: '',
    hosts: [],
    stages: [],
    status: 'RUNNING',
    startedAt: 0,
    finishedAt: null,
    startedStages: new Set(),
    rollout: null,
    currentBatch: null,
    stopped: null,
    pause: null,
    commands: new Map(),
    rollbacks: new Map(),
  };
}

/** Folds one event into the view (in place: renderers see hundreds of events a second). */
export function applyRunEvent(view: RunView, event: RunEvent): CommandView | undefined {
  switch (event.type) {
    case 'run_started':
      view.runId = event.runId;
      view.retryOf = event.retryOf ?? null;
      view.retryableOps = new Set(event.retryableOps ?? []);
      view.target = event.target;
      view.hosts = event.hosts;
      view.stages = event.stages;
      view.startedAt = event.at;
      view.rollout = event.rollout ?? null;
      for (const c of event.commands ?? []) {
        view.commands.set(c.commandId, {
          commandId: c.commandId,
          hostId: c.hostId,
          op: c.op,
          stage: c.stage,
          batch: c.batch ?? null,
          status: 'PENDING',
          attempt: 1,
          exitCode: null,
          error: null,
          durationMs: null,
          startedAt: null,
          tail: '',
          rollbackOf: null,
          rollbackId: null,
          armed: null,
        });
      }
      return undefined;
    case 'stage_started':
      view.startedStages.add(event.stage);
      return undefined;
    case 'rollout_paused':
      view.pause = { nextWave: event.nextWave, until: event.until, ms: event.ms };
      return undefined;
    case 'batch_started':
      view.currentBatch = event.batch;
      view.pause = null;
      return undefined;
    case 'command_status': {
      let command = view.commands.get(event.commandId);
      if (!command) {
        command = {
          ...event,
          batch: null,
          startedAt: null,
          tail: '',
          rollbackOf: event.rollbackOf ?? null,
          rollbackId: null,
          armed: null,
        };
        view.commands.set(event.commandId, command);
        if (command.rollbackOf !== null) view.rollbacks.set(command.rollbackOf, command);
      }
      command.status = event.status;
      command.attempt = event.attempt;
      command.exitCode = event.exitCode;
      command.error = event.error;
      command.durationMs = event.durationMs;
      if (event.rollbackId !== undefined) command.rollbackId = event.rollbackId;
      if (command.startedAt === null && (event.status === 'VALIDATING' || event.status === 'EXECUTING')) {
        command.startedAt = event.at;
      }
      return command;
    }
    case 'command_output': {
      const command = view.commands.get(event.commandId);
      if (command) command.tail = (command.tail + event.chunk).slice(-VIEW_TAIL_LIMIT);
      return command;
    }
    case 'armed_rollback': {
      const command = view.commands.get(event.commandId);
      if (command) command.armed = { delayMs: event.delayMs, state: event.state };
      return command;
    }
    case 'run_finished':
      view.status = event.status;
      view.finishedAt = event.at;
      view.stopped = event.stopped ?? null;
      view.pause = null;
      return undefined;
    default:
      return undefined;
  }
}

/** The view's commands of one stage, in host order (rollbacks are reached through rollbackOfCommand). */
export function commandsOfStage(view: RunView, stage: number): CommandView[] {
  return [...view.commands.values()].filter((c) => c.stage === stage && c.rollbackOf === null);
}

/** The rollback of a failed command, if one ran (CORE-009). */
export function rollbackOfCommand(view: RunView, commandId: string): CommandView | undefined {
  const rollbackId = view.commands.get(commandId)?.rollbackId;
  if (rollbackId) {
    const rollback = view.commands.get(rollbackId);
    if (rollback) return rollback;
  }
  // A scan of every command here made each frame of the terminal view quadratic in the failed
  // hosts at 3,000 hosts (every failed host without a rollback looked through all of them).
  return view.rollbacks.get(commandId);
}

/** A failed op whose rollback has not ended yet: its host is still being worked on (CORE-009). */
export function isRollingBack(view: RunView, command: CommandView): boolean {
  if (command.rollbackId === null) return false;
  const rollback = rollbackOfCommand(view, command.commandId);
  return rollback === undefined || !isTerminalCommand(rollback.status);
}

/**
 * `canary`, `batch 2/4`, or nothing when the run has a single wave that is no canary (see
 * CORE-008). A canary of every host is still named: its first failure stops the run.
 */
export function batchLabel(view: RunView, batch: number | null): string | null {
  if (batch === null || view.rollout === null) return null;
  return batch !== 0 && view.rollout.waves.length <= 1 ? null : waveName(batch, view.rollout.batches);
}

/** Started and not yet settled: the host is working on it (as opposed to queued for a slot). */
export const isRunning = (status: CommandStatus) => status === 'VALIDATING' || status === 'EXECUTING';

/**
 * Why a command did not run, in words: the host's earlier failure, the controller op that stopped
 * every host, or the cancel (SKIPPED and CANCELLED commands carry no error of their own).
 */
export function notRunReason(view: RunView, command: CommandView): string {
  // A reason of its own needs no search of the run's commands: the budget's SKIPPED and the
  // cancel's CANCELLED are most of them when thousands of hosts stop at once.
  if (command.error || command.status === 'CANCELLED') return notRunText(command, undefined);
  const failed = [...view.commands.values()].find(
    (c) =>
      c.stage < command.stage &&
      c.rollbackOf === null &&
      (c.hostId === command.hostId || c.hostId === CONTROLLER_HOST_ID) &&
      isFailure(c.status),
  );
  return notRunText(command, failed);
}

/** notRunReason, given the failed command of an earlier stage of the host (or the controller). */
export function notRunText(command: CommandView, failed: CommandView | undefined): string {
  // CORE-008: a rollout's SKIPPED carries its own reason (failure budget exceeded, canary failed).
  if (command.error) return command.error;
  if (command.status === 'CANCELLED') return 'run cancelled';
  if (failed === undefined) return command.hostId === CONTROLLER_HOST_ID ? 'no host left to run it' : 'not run';
  const who = failed.hostId === CONTROLLER_HOST_ID ? 'controller op ' : '';
  return `${who}${failed.op} ${failed.status}${failed.error ? `: ${failed.error}` : ''}`;
}

/** Commands by what became of them so far; a stage's line and its totals are made from these. */
export interface StatusCounts {
  ok: number;
  failed: number;
  /** SKIPPED: not run after a failure earlier on the host, or by a rollout's stop. */
  skipped: number;
  /** Not run because the run was cancelled: told apart from SKIPPED. */
  cancelled: number;
  running: number;
  queued: number;
}

export function countStatuses(commands: Iterable<CommandView>): StatusCounts {
  const counts: StatusCounts = { ok: 0, failed: 0, skipped: 0, cancelled: 0, running: 0, queued: 0 };
  for (const c of commands) {
    if (c.status === 'SUCCESS') counts.ok++;
    else if (isFailure(c.status)) counts.failed++;
    else if (c.status === 'SKIPPED') counts.skipped++;
    else if (c.status === 'CANCELLED') counts.cancelled++;
    else if (isRunning(c.status)) counts.running++;
    else counts.queued++;
  }
  return counts;
}

export const isFailure = (status: CommandStatus) =>
  status === 'ERROR' || status === 'TIMEOUT' || status === 'BLOCKED' || status === 'ORPHANED';
export const isNotRun = (status: CommandStatus) => status === 'SKIPPED' || status === 'CANCELLED';
