// The one-line reason a command did not succeed, kept in commands.error and shown by every
// renderer (see CORE-001). Pure, so each wording is tested without processes.
import { formatDuration } from '../config/duration.js';
import type { ExecResult } from './types.js';

/** Which part of an op ran: the reason names it unless it is the op's `run` command. */
export type Phase = 'precheck' | 'run' | 'postcheck' | 'rollback';

/** Null when the result is a success (exit 0, not timed out, not killed). */
export function failureReason(phase: Phase, result: ExecResult, timeoutMs: number): string | null {
  const what = phase === 'run' ? '' : `${phase} `;
  if (result.transportError !== undefined)
    return phase === 'run' ? result.transportError : `${phase}: ${result.transportError}`;
  if (result.aborted) return `${what}killed by cancel`.trim();
  if (result.timedOut) return `${what}timed out after ${formatDuration(timeoutMs)}`;
  if (result.exitCode === 0) return null;
  if (result.exitCode === null) return `${what}killed by ${result.signal ?? 'a signal'}`;
  return phase === 'run' ? `exit code ${result.exitCode}` : `${phase} failed (exit ${result.exitCode})`;
}
