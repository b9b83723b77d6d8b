// How the terminal view and the recap word a failed op's rollback and an op's armed timer (see
// CORE-009): `rolled back (0.4s)`, or that the rollback failed and the host needs a person.

import { lastLines } from '../domain/terminal-text.js';
import { formatElapsed } from './elapsed.js';
import { hostLabel } from './host-label.js';
import type { CommandView } from './run-view.js';

/** `, rollback timer disarmed` for an op that ran under an armed timer, else nothing. */
export function armedText(command: CommandView): string {
  return command.armed ? `, rollback timer ${command.armed.state}` : '';
}

/** `rolled back (0.4s)` or `rollback ERROR (0.4s): db1 needs a person`. */
export function rollbackText(rollback: CommandView): string {
  const duration = rollback.durationMs !== null ? ` (${formatElapsed(rollback.durationMs)})` : '';
  if (rollback.status === 'SUCCESS') return `rolled back${duration}`;
  return `rollback ${rollback.status}${duration}: ${hostLabel(rollback.hostId)} needs a person`;
}

/** A failed rollback's reason and the last lines it printed; nothing for one that succeeded. */
export function rollbackFailureLines(rollback: CommandView, tailLines: number): string[] {
  if (rollback.status === 'SUCCESS') return [];
  const reason = `${hostLabel(rollback.hostId)}: rollback ${rollback.commandId} ${rollback.status}: ${rollback.error ?? 'did not finish'}`;
  return [reason, ...lastLines(rollback.tail, tailLines).map((line) => `| ${line}`)];
}
