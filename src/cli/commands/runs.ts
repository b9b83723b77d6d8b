// `nixfleet runs [--limit N]`: past and running pipeline runs, newest first, and how many more
// there are when the list stops short (CORE-002).
import { nixfleetCommand } from '../../domain/nixfleet-command.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { NoJournalError } from '../../store/journal-error.js';
import type { Journal } from '../../store/types.js';
import { formatTimestamp, runDuration, runProgress } from '../../ui/run-table.js';
import type { CommandContext } from '../command.js';
import { existingDataDir, NO_JOURNAL_HINT, noJournalText } from '../existing-journal.js';
import { openJournalInToRead } from '../read-journal.js';
import { textTable } from '../text-table.js';

export const usage = 'runs [--limit N]';
export const options = {
  limit: { type: 'string', valueName: 'N', description: 'most runs listed (default 20)' },
} as const;
export const maxPositionals = 0;

export async function run(ctx: CommandContext): Promise<number> {
  const given = ctx.values.limit;
  const limit = typeof given === 'string' ? Number(given) : 20;
  if (typeof given === 'string' && (!/^[0-9]+$/.test(given) || !Number.isSafeInteger(limit) || limit < 1)) {
    throw new UserError(`--limit must be a whole number of at least 1, got \`${given}\``);
  }
  // Listing nothing is not an error, but say why it is empty, and create nothing.
  const listNothing = (why: string, hint: string) => {
    ctx.io.stdout.write(ctx.global.json ? '[]\n' : `${why}\n  hint: ${hint}\n`);
    return EXIT.OK;
  };
  const { dir, exists, store } = await existingDataDir(ctx);
  if (!exists) return listNothing(noJournalText(ctx, dir), NO_JOURNAL_HINT);
  let journal: Journal;
  try {
    journal = openJournalInToRead(ctx, dir, { ...store, noOutputs: true });
  } catch (error) {
    // CORE-012: a PostgreSQL database whose journal has not been created yet lists nothing too.
    if (!(error instanceof NoJournalError)) throw error;
    return listNothing(error.message, error.hint);
  }
  try {
    const runs = journal.listRuns({ limit });
    if (ctx.global.json) {
      ctx.io.stdout.write(`${JSON.stringify(runs, null, 2)}\n`);
      return EXIT.OK;
    }
    if (runs.length === 0) {
      ctx.io.stdout.write(`no runs yet; \`${nixfleetCommand('apply', ctx.global)}\` starts one\n`);
      return EXIT.OK;
    }
    const rows = runs.map((r) => [
      r.id,
      r.name,
      runProgress(r),
      String(r.hosts.length),
      formatTimestamp(r.createdAt),
      runDuration(r),
      r.retryOf ? `retry of ${r.retryOf}` : '',
    ]);
    ctx.io.stdout.write(textTable(['RUN', 'TARGET', 'STATUS', 'HOSTS', 'STARTED', 'DURATION', ''], rows));
    // CORE-002: a full page says how many runs it left out. Only the text says so: `--json` stays
    // the array of runs it always was.
    const total = runs.length < limit ? runs.length : journal.countRuns();
    if (total > runs.length) ctx.io.stdout.write(`${runs.length} of ${total} runs shown; --limit N for more\n`);
    return EXIT.OK;
  } finally {
    journal.close();
  }
}
