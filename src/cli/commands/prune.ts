// `nixfleet prune [--older-than 30d]`: applies the journal's retention now (see
// CORE-003). --older-than replaces the runs/commands age (NIXFLEET_CMD_RETENTION_DAYS); events
// keep NIXFLEET_LOG_RETENTION_DAYS.
import { EXIT, UserError } from '../../errors/user-error.js';
import { openJournal } from '../../store/journal.js';
import { retentionFromEnv } from '../../store/retention.js';
import type { CommandContext } from '../command.js';
import { existingDataDir } from '../existing-journal.js';

export const usage = 'prune [--older-than 30d]';
export const options = {
  'older-than': {
    type: 'string',
    valueName: 'AGE',
    description: 'remove runs finished longer ago than AGE (7d, 12h, 30m; default the retention)',
  },
} as const;
export const maxPositionals = 0;

const AGE = /^(?<amount>\d+(?:\.\d+)?)(?<unit>d|h|m)?$/;
const UNIT_MS = { d: 86_400_000, h: 3_600_000, m: 60_000 } as const;

export async function run(ctx: CommandContext): Promise<number> {
  const olderThan = ctx.values['older-than'];
  const commandRetentionMs = typeof olderThan === 'string' ? parseAge(olderThan) : undefined;
  const { invalid } = retentionFromEnv(ctx.io.env);
  if (invalid.length > 0) {
    throw new UserError(invalid.join('; '), { hint: 'set it to a number of days, e.g. 30, or unset it' });
  }
  const { dir: dataDir, exists, store } = await existingDataDir(ctx);
  if (!exists) {
    // Nothing was ever journaled here: do not create a data directory just to prune it.
    const empty = { commands: 0, pipelines: 0, events: 0, changes: 0, outputFiles: 0 };
    ctx.io.stdout.write(ctx.global.json ? `${JSON.stringify({ dataDir, ...empty })}\n` : `no journal in ${dataDir}\n`);
    return EXIT.OK;
  }
  const journal = openJournal(dataDir, { ...store, env: ctx.io.env });
  try {
    const result = journal.prune(commandRetentionMs === undefined ? {} : { commandRetentionMs });
    // Where it pruned: the data directory, or the PostgreSQL database (its URL without password).
    const from = store.store === undefined ? { dataDir } : { store: journal.dbPath };
    if (ctx.global.json) {
      ctx.io.stdout.write(`${JSON.stringify({ ...from, ...result })}\n`);
    } else {
      ctx.io.stdout.write(
        `pruned ${result.pipelines} run(s), ${result.commands} command(s), ${result.outputFiles} output file(s), ` +
          `${result.events} event(s) and ${result.changes} change(s) from ${from.dataDir ?? from.store}\n`,
      );
    }
    return EXIT.OK;
  } finally {
    journal.close();
  }
}

function parseAge(value: string): number {
  const match = AGE.exec(value.trim());
  if (!match?.groups) {
    throw new UserError(`--older-than ${value}: not an age`, {
      hint: 'use a number with d, h or m, e.g. --older-than 30d (a bare number means days)',
    });
  }
  const unit = (match.groups.unit ?? 'd') as keyof typeof UNIT_MS;
  return Number(match.groups.amount) * UNIT_MS[unit];
}
