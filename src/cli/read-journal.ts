// The journal for commands that only read it (`runs`, `show`, `logs`): they keep working when the
// data directory's disk is full or read-only, from a read-only copy, and say so (see CORE-003).
// Like every reading command they create nothing: without a journal they say where they looked
// (existing-journal.ts).
import { UserError } from '../errors/user-error.js';
import { openJournal } from '../store/journal.js';
import type { Journal } from '../store/types.js';
import type { CommandContext } from './command.js';
import { existingDataDir, NO_JOURNAL_HINT, noJournalText } from './existing-journal.js';

/** `noOutputs`: the command reads no output file, so a broken `logs/` does not stop it (CORE-003). */
export async function openJournalToRead(ctx: CommandContext, options: { noOutputs?: boolean } = {}): Promise<Journal> {
  const { dir, exists, store } = await existingDataDir(ctx);
  if (!exists) throw new UserError(noJournalText(ctx, dir), { hint: NO_JOURNAL_HINT });
  return openJournalInToRead(ctx, dir, { ...store, ...options });
}

/** Opens the journal known to be in `dir` for reading. */
export function openJournalInToRead(
  ctx: CommandContext,
  dir: string,
  options: { store?: string; noOutputs?: boolean } = {},
): Journal {
  const journal = openJournal(dir, { ...options, readOnly: true });
  if (journal.snapshotReason !== undefined) ctx.io.stderr.write(`nixfleet: warning: ${journal.snapshotReason}\n`);
  return journal;
}
