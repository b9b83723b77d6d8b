// A command's processes go into the journal before the command may start (see CORE-011).
import type { Journal } from '../store/types.js';
import type { CommandProcess } from './types.js';

/**
 * The first line of a local command's or a secret command's shell: it blocks until nixfleet says
 * go (one line on stdin), which it does once the processes are recorded; end-of-file instead
 * means nixfleet died first, and nothing runs.
 */
export const START_GATE = 'read -r _ || exit 125; exec </dev/null';

/**
 * What a local command's shell gets after `-c` (transports/local.ts): stderr onto stdout, the
 * gate, then the command. One argument, so at most MAX_ARGUMENT_BYTES (command-size.ts, CORE-001).
 */
export function localScript(command: string): string {
  return `exec 2>&1\n${START_GATE}\n${command}`;
}

export interface ProcessRecordContext {
  readonly journal: Journal;
  /** The journal failed outside a status step: the run stops (CORE-002). */
  readonly onJournalFailure: (error: unknown) => void;
}

/**
 * The `onProcess` of a command's exec: `record` (by default `journal.recordProcess`). A journal
 * that cannot take the record (busy past its wait, gone) ends the run, and the throw tells the
 * transport not to open the start gate: a command whose processes the journal does not know
 * could outlive a crash with its host freed.
 */
export function processRecorder(
  ctx: ProcessRecordContext,
  commandId: string,
  record: (process: CommandProcess) => void = (process) => ctx.journal.recordProcess(commandId, process),
): (process: CommandProcess) => void {
  return (process) => {
    try {
      record(process);
    } catch (error) {
      ctx.onJournalFailure(error);
      throw error;
    }
  };
}

/** The reason of a command that was not started because its processes could not be recorded. */
export function notRecordedReason(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  return `not started: the journal could not record its processes (${message})`;
}
