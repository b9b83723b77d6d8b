// Where a command finds its fleet file and data directory (CORE-005): -f/--file, else
// $NIXFLEET_FILE, else ./fleet.yaml; --data-dir, else $NIXFLEET_DATA_DIR, else settings.dataDir.
// And its journal (CORE-012): --store, else $NIXFLEET_DATABASE_URL, else settings.store, else
// the embedded SQLite journal in the data directory.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DEFAULTS } from '../config/defaults.js';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';
import { isPostgresUrl } from '../store/store-url.js';
import type { CommandContext } from './command.js';

export function fleetFilePath(ctx: CommandContext): string {
  const given = ctx.global.file ?? nonEmpty(ctx.io.env.NIXFLEET_FILE) ?? 'fleet.yaml';
  return resolve(ctx.io.cwd, given);
}

/** --data-dir, else $NIXFLEET_DATA_DIR, resolved; undefined when neither is given. */
export function dataDirOverride(ctx: CommandContext): string | undefined {
  const given = ctx.global.dataDir ?? nonEmpty(ctx.io.env.NIXFLEET_DATA_DIR);
  return given === undefined ? undefined : resolve(ctx.io.cwd, given);
}

export async function loadFleet(ctx: CommandContext): Promise<Registry> {
  // The compiler (yaml, the schema, the checks) loads only in the commands that compile the fleet,
  // not in those that only read the journal (see CORE-005, start-up).
  const { loadRegistry } = await import('../config/load.js');
  const dataDir = dataDirOverride(ctx);
  return loadRegistry(fleetFilePath(ctx), { cwd: ctx.io.cwd, ...(dataDir !== undefined ? { dataDir } : {}) });
}

/**
 * The data directory without compiling the fleet: commands that only read the journal (`runs`,
 * `show`, `logs`) keep working while the fleet file is being edited into shape.
 */
export async function dataDirFor(ctx: CommandContext): Promise<string> {
  const override = dataDirOverride(ctx);
  if (override !== undefined) return override;
  const file = fleetFilePath(ctx);
  const text = fleetText(file);
  if (text === undefined) return resolve(ctx.io.cwd, DEFAULTS.dataDir);
  return resolve(dirname(file), (await settingIn(text, 'dataDir')) ?? DEFAULTS.dataDir);
}

/**
 * The journal to open, as openJournal's options: `{ store: URL }` for PostgreSQL, `{}` for SQLite.
 * Read without compiling the fleet, like dataDirFor.
 */
export async function storeFor(ctx: CommandContext): Promise<{ store?: string }> {
  let where = '--store';
  let given = nonEmpty(ctx.global.store);
  if (given === undefined && nonEmpty(ctx.io.env.NIXFLEET_DATABASE_URL) !== undefined) {
    where = '$NIXFLEET_DATABASE_URL';
    given = ctx.io.env.NIXFLEET_DATABASE_URL;
  }
  if (given === undefined) {
    where = `settings.store in ${fleetFilePath(ctx)}`;
    const text = fleetText(fleetFilePath(ctx));
    given = text === undefined ? undefined : await settingIn(text, 'store');
  }
  if (given === undefined) return {};
  if (!isPostgresUrl(given)) {
    throw new UserError(`${where}: \`${given}\` is not a PostgreSQL URL`, {
      hint: 'give postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave it unset for the embedded SQLite journal',
    });
  }
  return { store: given };
}

/** The fleet file's text, or undefined when it cannot be read. */
function fleetText(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A string setting of the fleet file's text, or undefined (not YAML, not set, empty). */
async function settingIn(text: string, key: 'dataDir' | 'store'): Promise<string | undefined> {
  // YAML can spell a key without its own letters only with a backslash escape in a quoted
  // scalar: a file with neither cannot set it, and is not parsed (loading yaml would be a good
  // part of the start of `runs` or `show`; see CORE-005, start-up).
  if (!text.includes(key) && !text.includes('\\')) return undefined;
  const { parsedSetting } = await import('./fleet-setting.js');
  return parsedSetting(text, key);
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
