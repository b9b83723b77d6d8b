// `nixfleet logs COMMAND_ID` or `nixfleet logs RUN_ID [--host H]`: stored output, read through the
// journal: the log files under DATA_DIR/logs/, or the database's chunks on PostgreSQL (see CORE-002,
// CORE-003, CORE-012).
import { hostNames } from '../../domain/host-names.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import type { CommandRecord, Journal } from '../../store/types.js';
import type { CommandContext } from '../command.js';
import { openJournalToRead } from '../read-journal.js';

export const usage = 'logs COMMAND_ID | RUN_ID [--host H]';
export const options = {
  host: { type: 'string', valueName: 'H', description: 'with a run id: only this host' },
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  if (id === undefined) {
    throw new UserError('logs needs a command id or a run id', { hint: '`nixfleet show RUN_ID` lists command ids' });
  }
  const host = typeof ctx.values.host === 'string' ? ctx.values.host : undefined;
  const journal = await openJournalToRead(ctx);
  try {
    const command = journal.getCommand(id);
    if (command) {
      if (host !== undefined) throw new UserError('--host goes with a run id, not a command id');
      if (ctx.global.json) ctx.io.stdout.write(`${JSON.stringify(entryOf(journal, command))}\n`);
      else ctx.io.stdout.write(outputOf(journal, command));
      return EXIT.OK;
    }
    const found = journal.getRun(id);
    if (!found) {
      throw new UserError(`no command or run \`${id}\``, { hint: 'see `nixfleet runs`, then `nixfleet show RUN_ID`' });
    }
    if (host !== undefined && !found.hosts.includes(host) && !host.startsWith('@')) {
      throw new UserError(`run ${id} has no host \`${host}\``, { hint: `its hosts: ${hostNames(found.hosts)}` });
    }
    const commands = journal
      .listCommands({ runId: id, limit: 1_000_000 })
      .filter((c) => host === undefined || c.hostId === host);
    if (ctx.global.json) {
      ctx.io.stdout.write(
        `${JSON.stringify(
          commands.map((c) => entryOf(journal, c)),
          null,
          2,
        )}\n`,
      );
      return EXIT.OK;
    }
    for (const c of commands) {
      const what = c.rollbackOf === null ? c.op : `${c.op} rollback of ${c.rollbackOf}`;
      ctx.io.stdout.write(`==> ${c.id} [${c.hostId}] ${what} ${c.status} <==\n`);
      const text = outputOf(journal, c);
      ctx.io.stdout.write(text.length === 0 || text.endsWith('\n') ? text : `${text}\n`);
    }
    return EXIT.OK;
  } finally {
    journal.close();
  }
}

function outputOf(journal: Journal, command: CommandRecord): string {
  if (command.outputFile === null) return '';
  try {
    return journal.readOutput(command.id).toString('utf8');
  } catch {
    // Retention removes old output files; the record says what ran, the output is gone.
    return `(output of ${command.id} is no longer stored)\n`;
  }
}

function entryOf(journal: Journal, command: CommandRecord) {
  return {
    commandId: command.id,
    hostId: command.hostId,
    op: command.op,
    status: command.status,
    rollbackOf: command.rollbackOf,
    output: outputOf(journal, command),
  };
}
