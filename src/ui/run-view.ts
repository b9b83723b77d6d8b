// What every renderer and report knows about a run: folded from RunEvents only, never from the
// engine's state (DESIGN.md: renderers only display).
import type { ArmedState } from '../domain/armed-state.js';
import type { CommandStatus, RunStatus } from '../domain/status.js';
import type { RunEvent } from '../engine/types.js';

/** Characters of output kept per command for failure excerpts and live tails. */
const VIEW_TAIL_LIMIT = 4096;

export interface CommandView {
  readonly commandId: string;
  readonly hostId: string;
  readonly op: string;
  readonly stage: number;
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
      for (const c of event.commands ?? []) {
        view.commands.set(c.commandId, {
          commandId: c.commandId,
          hostId: c.hostId,
          op: c.op,
          stage: c.stage,
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
        command = { ...event, tail: '', rollbackOf: event.rollbackOf ?? null, armed: null };
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

export const isFailure = (status: CommandStatus) =>
  status === 'ERROR' || status === 'TIMEOUT' || status === 'BLOCKED' || status === 'ORPHANED';
export const isNotRun = (status: CommandStatus) => status === 'SKIPPED' || status === 'CANCELLED';
