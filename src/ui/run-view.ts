// What every renderer and report knows about a run: folded from RunEvents only, never from the
// engine's state (specs/README.md, the one-way flow: renderers only display).
import type { ArmedState } from '../domain/armed-state.js';
import type { CommandStatus, RunStatus } from '../domain/status.js';
import type { RolloutPlan } from '../engine/rollout/rollout-plan.js';
import type { RunEvent } from '../engine/types.js';

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
  tail: string;
  /** For a rollback, the command it undoes (CORE-009). */
  rollbackOf: string | null;
  /** For an op under an armed rollback timer, its delay and state (CORE-009). */
  armed: { delayMs: number; state: ArmedState } | null;
}

export interface RunView {
  runId: string;
  target: string;
  hosts: readonly string[];
  stages: readonly string[];
  status: RunStatus;
  startedAt: number;
  finishedAt: number | null;
  rollout: RolloutPlan | null;
  /** Why the rollout stopped early, if it did (see CORE-008). */
  stopped: string | null;
  /** In run_started order: by stage, then host. */
  readonly commands: Map<string, CommandView>;
}

export function createRunView(): RunView {
  return {
    runId: '',
    target: '',
    hosts: [],
    stages: [],
    status: 'RUNNING',
    startedAt: 0,
    finishedAt: null,
    rollout: null,
    stopped: null,
    commands: new Map(),
  };
}

/** Folds one event into the view (in place: renderers see hundreds of events a second). */
export function applyRunEvent(view: RunView, event: RunEvent): CommandView | undefined {
  switch (event.type) {
    case 'run_started':
      view.runId = event.runId;
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
          tail: '',
          rollbackOf: null,
          armed: null,
        });
      }
      return undefined;
    case 'command_status': {
      let command = view.commands.get(event.commandId);
      if (!command) {
        command = { ...event, batch: null, tail: '', rollbackOf: event.rollbackOf ?? null, armed: null };
        view.commands.set(event.commandId, command);
      }
      command.status = event.status;
      command.attempt = event.attempt;
      command.exitCode = event.exitCode;
      command.error = event.error;
      command.durationMs = event.durationMs;
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
  for (const c of view.commands.values()) if (c.rollbackOf === commandId) return c;
  return undefined;
}

/** `canary`, `batch 2/4`, or nothing when the run has a single wave (see CORE-008). */
export function batchLabel(view: RunView, batch: number | null): string | null {
  if (batch === null || view.rollout === null || view.rollout.waves.length <= 1) return null;
  return batch === 0 ? 'canary' : `batch ${batch}/${view.rollout.batches}`;
}

export const isFailure = (status: CommandStatus) =>
  status === 'ERROR' || status === 'TIMEOUT' || status === 'BLOCKED' || status === 'ORPHANED';
export const isNotRun = (status: CommandStatus) => status === 'SKIPPED' || status === 'CANCELLED';
