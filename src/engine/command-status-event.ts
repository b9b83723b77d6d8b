// Turns a journaled command into the run event renderers see, so every status change the journal
// accepted is shown exactly as stored (see CORE-001).
import type { CommandRecord } from '../store/types.js';
import type { RunEvent } from './types.js';

export function commandStatusEvent(command: CommandRecord, at: number = Date.now()): RunEvent {
  return {
    type: 'command_status',
    runId: command.runId,
    commandId: command.id,
    hostId: command.hostId,
    op: command.op,
    stage: command.stage,
    status: command.status,
    attempt: command.attempt,
    exitCode: command.exitCode,
    error: command.error,
    durationMs:
      command.startedAt !== null && command.finishedAt !== null ? command.finishedAt - command.startedAt : null,
    rollbackOf: command.rollbackOf,
    at,
  };
}
