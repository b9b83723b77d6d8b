// The journal for commands that only read it (`runs`, `show`, `logs`): they keep working when the
// data directory's disk is full or read-only, from a read-only copy, and say so (see CORE-003).
import { openJournal } from '../store/journal.js';
import type { Journal } from '../store/types.js';
import type { CommandContext } from './command.js';
import { dataDirFor } from './load-fleet.js';

export async function openJournalToRead(ctx: CommandContext): Promise<Journal> {
  const journal = openJournal(await dataDirFor(ctx), { readOnly: true });
  if (journal.snapshotReason !== undefined) ctx.io.stderr.write(`nixfleet: warning: ${journal.snapshotReason}\n`);
  return journal;
}
