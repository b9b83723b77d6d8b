// What every renderer and report knows about a run: folded from RunEvents only, never from the
// engine's state (DESIGN.md: renderers only display).
import type { CommandStatus, RunStatus } from '../domain/status.js';
import type { RunEvent } from '../engine/types.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';

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
  /** When the command left PENDING (its precheck or run began); null while it waits for a slot. */
  startedAt: number | null;
  tail: string;
}

export interface RunView {
  runId: string;
  target: string;
  hosts: readonly string[];
  stages: readonly string[];
  status: RunStatus;
  startedAt: number;
  finishedAt: number | null;
  /** Stages whose stage_started arrived. */
  readonly startedStages: Set<number>;
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
    startedStages: new Set(),
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
          startedAt: null,
          tail: '',
        });
      }
      return undefined;
    case 'stage_started':
      view.startedStages.add(event.stage);
      return undefined;
    case 'command_status': {
      let command = view.commands.get(event.commandId);
      if (!command) {
        command = { ...event, startedAt: null, tail: '' };
        view.commands.set(event.commandId, command);
      }
      command.status = event.status;
      command.attempt = event.attempt;
      command.exitCode = event.exitCode;
      command.error = event.error;
      command.durationMs = event.durationMs;
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
    case 'run_finished':
      view.status = event.status;
      view.finishedAt = event.at;
      return undefined;
    default:
      return undefined;
  }
}

/** The view's commands of one stage, in host order. */
export function commandsOfStage(view: RunView, stage: number): CommandView[] {
  return [...view.commands.values()].filter((c) => c.stage === stage);
}

/** Started and not yet settled: the host is working on it (as opposed to queued for a slot). */
export const isRunning = (status: CommandStatus) => status === 'VALIDATING' || status === 'EXECUTING';

/**
 * Why a command did not run, in words: the host's earlier failure, the controller op that stopped
 * every host, or the cancel (SKIPPED and CANCELLED commands carry no error of their own).
 */
export function notRunReason(view: RunView, command: CommandView): string {
  if (command.status === 'CANCELLED') return 'run cancelled';
  const earlier = [...view.commands.values()].filter(
    (c) => c.stage < command.stage && (c.hostId === command.hostId || c.hostId === CONTROLLER_HOST_ID),
  );
  const failed = earlier.find((c) => isFailure(c.status));
  if (failed === undefined) return command.hostId === CONTROLLER_HOST_ID ? 'no host left to run it' : 'not run';
  const who = failed.hostId === CONTROLLER_HOST_ID ? 'controller op ' : '';
  return `${who}${failed.op} ${failed.status}${failed.error ? `: ${failed.error}` : ''}`;
}

export const isFailure = (status: CommandStatus) =>
  status === 'ERROR' || status === 'TIMEOUT' || status === 'BLOCKED' || status === 'ORPHANED';
export const isNotRun = (status: CommandStatus) => status === 'SKIPPED' || status === 'CANCELLED';
