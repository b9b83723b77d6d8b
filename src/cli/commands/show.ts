// `nixfleet show RUN_ID`: one run as hosts × stages with statuses, exit codes and durations,
// then the reason of every command that did not succeed (CORE-002).

import { nixfleetCommand, recentRunsHint } from '../../domain/nixfleet-command.js';
import { oneLine } from '../../domain/terminal-text.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { CONTROLLER_HOST_ID } from '../../registry/types.js';
import type { CommandRecord } from '../../store/types.js';
import { rollbackLines } from '../../ui/rollback-lines.js';
import { commandCell, formatTimestamp, runDuration, runProgress } from '../../ui/run-table.js';
import type { CommandContext } from '../command.js';
import { openJournalToRead } from '../read-journal.js';
import { textTable } from '../text-table.js';

export const usage = 'show RUN_ID';
export const options = {};
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const runId = ctx.positionals[0];
  if (runId === undefined) throw new UserError('show needs a run id', { hint: recentRunsHint(ctx.global) });
  const journal = await openJournalToRead(ctx, { noOutputs: true });
  try {
    const found = journal.getRun(runId);
    if (!found) throw new UserError(`no run \`${runId}\``, { hint: recentRunsHint(ctx.global) });
    const commands = journal.listCommands({ runId, limit: 1_000_000 });
    if (ctx.global.json) {
      ctx.io.stdout.write(`${JSON.stringify({ run: found, commands }, null, 2)}\n`);
      return EXIT.OK;
    }
    const hasController = commands.some((c) => c.hostId === CONTROLLER_HOST_ID);
    const rowsFor = [...(hasController ? [CONTROLLER_HOST_ID] : []), ...found.hosts];
    // Looked up per cell: a search of every command per cell was quadratic in the run's size.
    const byCell = new Map<string, CommandRecord>();
    for (const c of commands) {
      const key = `${c.hostId}\n${c.stage}`;
      if (c.rollbackOf === null && !byCell.has(key)) byCell.set(key, c);
    }
    const cell = (hostId: string, stage: number) => byCell.get(`${hostId}\n${stage}`);
    const lines = [
      `run ${found.id}: ${found.targetKind} ${found.name}, ${runProgress(found)}`,
      `started ${formatTimestamp(found.createdAt)}, took ${runDuration(found)}, registry ${found.registryHash.slice(0, 12)}${found.retryOf ? `, retry of ${found.retryOf}` : ''}`,
      '',
    ];
    ctx.io.stdout.write(`${lines.join('\n')}\n`);
    const header = ['HOST', ...found.stages.map((op, i) => `${i + 1}. ${op}`)];
    const rows = rowsFor.map((host) => [host, ...found.stages.map((_, i) => commandCell(cell(host, i)))]);
    ctx.io.stdout.write(textTable(header, rows));
    const rollbacks = rollbackLines(commands);
    if (rollbacks.length > 0) ctx.io.stdout.write(`\n${rollbacks.join('\n')}\n`);
    const problems = commands.filter((c) => c.error !== null && c.status !== 'SUCCESS');
    if (problems.length > 0) {
      const what = (c: CommandRecord) => (c.rollbackOf === null ? c.op : `${c.op} rollback`);
      ctx.io.stdout.write(
        `\n${problems.map((c) => `${c.id} [${c.hostId}] ${what(c)} ${c.status}: ${oneLine(c.error ?? '')}`).join('\n')}\n`,
      );
      ctx.io.stdout.write(`\`${nixfleetCommand('logs COMMAND_ID', ctx.global)}\` shows the output\n`);
    }
    return EXIT.OK;
  } finally {
    journal.close();
  }
}
