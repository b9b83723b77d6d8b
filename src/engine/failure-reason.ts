// The one-line reason a command did not succeed, kept in commands.error and shown by every
// renderer (see CORE-001). Pure, so each wording is tested without processes.
import type { ExecResult } from './types.js';

/** Which part of an op ran: the reason names it unless it is the op's `run` command. */
export type Phase = 'precheck' | 'run' | 'postcheck';

/** `500ms`, `30s`, `2m`, `1h`, `1m30s`: the shape the fleet file uses for timeouts. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms % 1000 !== 0) return `${(ms / 1000).toFixed(1)}s`;
  const parts: string[] = [];
  let seconds = ms / 1000;
  for (const [unit, size] of [
    ['h', 3600],
    ['m', 60],
  ] as const) {
    if (seconds >= size) {
      parts.push(`${Math.floor(seconds / size)}${unit}`);
      seconds %= size;
    }
  }
  if (seconds > 0 || parts.length === 0) parts.push(`${seconds}s`);
  return parts.join('');
}

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
