// Where a command finds its fleet file and data directory (CORE-005): -f/--file, else
// $NIXFLEET_FILE, else ./fleet.yaml; --data-dir, else $NIXFLEET_DATA_DIR, else settings.dataDir.
// And its journal (CORE-012): --store, else $NIXFLEET_DATABASE_URL, else settings.store, else
// the embedded SQLite journal in the data directory.
import { relative, resolve } from 'node:path';
import { DEFAULTS } from '../config/defaults.js';
import { type CompileInputs, cachedRegistry, fleetCacheAvailable, keepRegistry } from '../config/fleet-cache.js';
import { fleetDirectory, readFleetText, STDIN_FLEET, UNFIT_HINTS } from '../config/fleet-text.js';
import { quoteExcerpt } from '../config/value-excerpt.js';
import { hidePassword } from '../domain/hidden-password.js';
import { nixfleetCommand } from '../domain/nixfleet-command.js';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';
import { isPostgresUrl } from '../store/store-url.js';
import type { CommandContext } from './command.js';

export function fleetFilePath(ctx: CommandContext): string {
  return resolve(ctx.io.cwd, namedFleetFile(ctx) ?? 'fleet.yaml');
}

/** The fleet file as -f or $NIXFLEET_FILE names it; undefined when neither does. */
function namedFleetFile(ctx: CommandContext): string | undefined {
  return ctx.global.file ?? nonEmpty(ctx.io.env.NIXFLEET_FILE);
}

/**
 * The fleet file of a command that reads it again on every save (`watch`, `serve`): standard input
 * can be read only once, so it is refused there (exit 2) before anything starts.
 */
export function rereadFleetFilePath(ctx: CommandContext, command: string): string {
  const file = fleetFilePath(ctx);
  if (file === STDIN_FLEET) {
    throw new UserError(
      `${command} reads the fleet file again at every save; standard input (${STDIN_FLEET}) can be read only once`,
      {
        hint: `save the fleet to a file and pass that: \`nixfleet ${command} -f fleet.yaml\``,
      },
    );
  }
  return file;
}

/** --data-dir, else $NIXFLEET_DATA_DIR, resolved; undefined when neither is given. */
export function dataDirOverride(ctx: CommandContext): string | undefined {
  const given = ctx.global.dataDir ?? nonEmpty(ctx.io.env.NIXFLEET_DATA_DIR);
  return given === undefined ? undefined : resolve(ctx.io.cwd, given);
}

export async function loadFleet(ctx: CommandContext): Promise<Registry> {
  const file = fleetFilePath(ctx);
  const override = dataDirOverride(ctx);
  const inputs: CompileInputs = { file, dataDir: override ?? null };
  const useCache = fleetCacheAvailable() && file !== STDIN_FLEET && !ctx.io.env.NIXFLEET_NO_FLEET_CACHE;
  // Read once: for the cache and, when it has no entry, for the compiler, which also says why a
  // file could not be read.
  const read = useCache ? readFleetText(file) : undefined;
  if (read !== undefined && 'text' in read) {
    // Where journalPlaceFor looks for the journal; an entry elsewhere is not found, and is written
    // again. A NUL byte in settings.dataDir finds none, and is left to the compiler, which shows where.
    const { dataDir } = await dataDirFor(file, ctx.io.cwd, override, read.text);
    const cached = await cachedRegistry(dataDir, inputs, read.text);
    if (cached !== undefined) return cached;
  }
  // The compiler (yaml, the schema, the checks) loads only in the commands that compile the fleet,
  // not in those that only read the journal (see CORE-005, start-up).
  const { loadFleetFiles } = await import('../config/load.js');
  const { registry, readings } = await loadFleetFiles(file, {
    cwd: ctx.io.cwd,
    ...(override !== undefined ? { dataDir: override } : {}),
    ...(read !== undefined ? { mainRead: read } : {}),
  });
  if (useCache) keepRegistry(inputs, readings, registry);
  return registry;
}

/**
 * Where the journal is, without compiling the fleet: commands that only read it (`runs`, `show`,
 * `logs`) keep working while the fleet file is being edited into shape. The data directory, and
 * the journal to open as openJournal's options (`{ store: URL }` for PostgreSQL, `{}` for
 * SQLite). The fleet file is read once, and only when a flag or variable leaves a setting to it.
 */
export async function journalPlaceFor(
  ctx: CommandContext,
  options: { readonly namedFileMayBeMissing?: boolean } = {},
): Promise<{ dataDir: string; store: { store?: string } }> {
  const file = fleetFilePath(ctx);
  const override = dataDirOverride(ctx);
  const given = givenStore(ctx);
  // A file named with -f or $NIXFLEET_FILE that cannot be read is refused where it alone would
  // place the journal: neither a data directory nor a store is given.
  const named =
    options.namedFileMayBeMissing !== true &&
    override === undefined &&
    given === undefined &&
    namedFleetFile(ctx) !== undefined;
  const text =
    override === undefined || given === undefined ? fleetText(file, named ? ctx.io.cwd : undefined) : undefined;
  const { dataDir, setting } = await dataDirFor(file, ctx.io.cwd, override, text);
  if (setting?.includes('\0')) {
    // Compiling refuses it at its line (`validate`); read alone, it would reach the file system.
    throw new UserError(`settings.dataDir in ${file} contains a NUL byte (\\0), which no path can hold`, {
      hint: `remove the NUL byte (\`${nixfleetCommand('validate', ctx.global)}\` shows where), or choose another data directory with --data-dir`,
    });
  }
  return { dataDir, store: checkedStore(given ?? (await storeSetting(file, text))) };
}

/**
 * The data directory (CORE-005): `override` (--data-dir, $NIXFLEET_DATA_DIR), else settings.dataDir
 * in the fleet file's `text`, else the default, both from the fleet file's directory; the default in
 * the working directory when there is no text (a file that cannot be read). With the setting as
 * written, unchecked: journalPlaceFor refuses a NUL byte in it, the compiler shows where it is.
 */
async function dataDirFor(
  file: string,
  cwd: string,
  override: string | undefined,
  text: string | undefined,
): Promise<{ dataDir: string; setting: string | undefined }> {
  if (override !== undefined) return { dataDir: override, setting: undefined };
  if (text === undefined) return { dataDir: resolve(cwd, DEFAULTS.dataDir), setting: undefined };
  const setting = await settingIn(text, 'dataDir');
  return { dataDir: resolve(fleetDirectory(file, cwd), setting ?? DEFAULTS.dataDir), setting };
}

/** The journal to open, as in journalPlaceFor, for commands that compiled the fleet. */
export function storeFor(ctx: CommandContext, registry: Registry): { store?: string } {
  return checkedStore(
    givenStore(ctx) ?? { where: `settings.store in ${registry.file}`, value: registry.settings.store },
  );
}

interface StoreValue {
  /** Where it was given, for the error. */
  readonly where: string;
  readonly value: string | undefined;
  /** From the fleet file: quoted as an excerpt, as the file's values are (CORE-005). */
  readonly fromFile?: boolean;
}

/** --store, else $NIXFLEET_DATABASE_URL; undefined when neither is set. */
function givenStore(ctx: CommandContext): StoreValue | undefined {
  const flag = nonEmpty(ctx.global.store);
  if (flag !== undefined) return { where: '--store', value: flag };
  const variable = nonEmpty(ctx.io.env.NIXFLEET_DATABASE_URL);
  return variable === undefined ? undefined : { where: '$NIXFLEET_DATABASE_URL', value: variable };
}

async function storeSetting(file: string, text: string | undefined): Promise<StoreValue> {
  return {
    where: `settings.store in ${file}`,
    value: text === undefined ? undefined : await settingIn(text, 'store'),
    fromFile: true,
  };
}

function checkedStore({ where, value, fromFile }: StoreValue): { store?: string } {
  if (value === undefined) return {};
  // Never the password, whatever the scheme (CORE-012).
  const shown = () => (fromFile ? quoteExcerpt(hidePassword(value)) : `\`${hidePassword(value)}\``);
  if (!isPostgresUrl(value)) {
    throw new UserError(`${where}: ${shown()} is not a PostgreSQL URL`, {
      hint: 'give postgres://USER:PASSWORD@HOST:PORT/DATABASE, or leave it unset for the embedded SQLite journal',
    });
  }
  // The driver reads it as a URL too: one it cannot read was "Invalid URL" from the driver, with
  // no word of where the value came from, and a hint about the server.
  if (!URL.canParse(value)) {
    throw new UserError(`${where}: ${shown()} cannot be read as a URL`, {
      hint: 'write `#`, `/`, `?`, `@` and `:` in the user name or password percent-encoded (`#` as %23, `/` as %2F, `?` as %3F, `@` as %40, `:` as %3A)',
    });
  }
  return { store: value };
}

/**
 * The fleet file's text, or undefined when it cannot be read (missing, no permission). What is no
 * fleet file at all (a directory, a device, a FIFO, too large) is refused: read, a device never
 * ends and a FIFO never starts, and its settings are not there to be had (see CORE-005). So is one
 * that cannot be read when it was named and would place the journal (`namedFrom`, the working
 * directory): with `-f prod.yml` for prod.yaml, `runs`, `cancel` and `prune` used the working
 * directory's journal, which may be another fleet's.
 */
function fleetText(file: string, namedFrom?: string): string | undefined {
  const read = readFleetText(file);
  if ('unfit' in read) {
    throw new UserError(`the fleet file ${file} ${read.unfit}`, {
      hint: UNFIT_HINTS.main[read.kind],
    });
  }
  if ('code' in read && namedFrom !== undefined) {
    const shown = relative(namedFrom, file) || file;
    throw new UserError(
      read.code === 'ENOENT' ? `no fleet file at ${shown}` : `cannot read the fleet file ${shown} (${read.code})`,
      {
        hint: 'the journal is found through the fleet file: check -f and $NIXFLEET_FILE, or name the journal itself with --data-dir DIR or --store URL',
      },
    );
  }
  return 'text' in read ? read.text : undefined;
}

/** A string setting of the fleet file's text, or undefined (not YAML, not set, empty). */
async function settingIn(text: string, key: 'dataDir' | 'store'): Promise<string | undefined> {
  // YAML can spell a key without its own letters only with a backslash escape in a double-quoted
  // scalar: a file with neither cannot set it, and is not parsed (loading yaml would be a good
  // part of the start of `runs` or `show`; see CORE-005, start-up). A line whose first character
  // other than a blank is `#` is a comment or a block scalar's text, never a key: `nixfleet init`'s
  // own `# dataDir: .nixfleet` made every start of `runs` and `show` parse the file.
  const notComment = (before: string) => !/^[ \t]*#/.test(before);
  // Only after a `"` on its line can a backslash be a key's escape (see CORE-005): a key is on
  // one line, unless written as `? "…"`, and over several lines a double-quoted scalar holds a
  // folded space, which no setting's name has, unless its line breaks are escaped, the first at
  // the end of its first line. A shell command's `\` elsewhere (`awk '{print $1}' \`) made every
  // start of `runs` and `show` parse the file.
  const afterQuote = (before: string) => before.includes('"');
  if (!occursWhere(text, key, notComment) && !occursWhere(text, '\\', afterQuote)) return undefined;
  const { parsedSetting } = await import('./fleet-setting.js');
  return parsedSetting(text, key);
}

/** Whether `word` is in `text` where `fits` holds of the text before it on its line. */
function occursWhere(text: string, word: string, fits: (before: string) => boolean): boolean {
  for (let at = text.indexOf(word); at !== -1; at = text.indexOf(word, at + 1)) {
    if (fits(text.slice(text.lastIndexOf('\n', at) + 1, at))) return true;
  }
  return false;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
