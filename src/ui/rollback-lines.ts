// The rollbacks and armed timers of a run, one line each, for `nixfleet show` (see CORE-009).
import { formatDuration } from '../config/duration.js';
import type { CommandRecord } from '../store/types.js';
import { commandCell } from './run-table.js';

export function rollbackLines(commands: readonly CommandRecord[]): string[] {
  const lines: string[] = [];
  for (const c of commands) {
    if (c.armed !== null) {
      lines.push(
        `${c.id} [${c.hostId}] ${c.op}: rollback timer ${c.armed.state} (armed ${formatDuration(c.armed.delayMs)})`,
      );
    }
    if (c.rollbackOf !== null) {
      // CORE-009: a finished rollback that did not succeed leaves the host to a person.
      const loud = c.status === 'SUCCESS' || c.finishedAt === null ? '' : `; ${c.hostId} needs a person`;
      lines.push(`${c.id} [${c.hostId}] ${c.op}: rollback of ${c.rollbackOf} ${commandCell(c)}${loud}`);
    }
  }
  return lines;
}
