// Report files (`--junit FILE`) are checked before a run starts: a path that cannot be written
// is a usage error (exit 2) that costs nothing, instead of a whole run whose report is then lost
// (see CORE-002, reports).
import { accessSync, constants, lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';

/**
 * The absolute path the report is written to (symbolic links followed), or a UserError saying
 * why it cannot be written.
 */
export function checkReportPath(flag: string, given: string, cwd: string): string {
  const fail = (why: string, hint: string): never => {
    throw new UserError(`${flag} ${given}: ${why}`, { hint });
  };
  const path =
    writtenPath(given, cwd) ??
    fail(`${resolve(cwd, given)} is a loop of symbolic links`, `name a file, e.g. ${flag} report.xml`);
  const directory = dirname(path);
  const stat = statOf(path);
  if (stat?.isDirectory())
    fail(`${path} is a directory`, `name a file, e.g. ${flag} ${given.replace(/\/?$/, '/report.xml')}`);
  const parent = statOf(directory);
  if (parent === undefined)
    fail(`the directory ${directory} does not exist`, `create it first, or write the report elsewhere`);
  if (!parent!.isDirectory()) fail(`${directory} is not a directory`, 'write the report elsewhere');
  // A file is written beside the report and renamed over it (writeReportFile, src/ui/attended-run.ts):
  // that needs the directory. A report that is there but read-only is still refused.
  for (const needed of stat === undefined ? [directory] : stat.isFile() ? [path, directory] : [path]) {
    try {
      accessSync(needed, constants.W_OK);
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      fail(
        `${needed} ${code === 'EROFS' ? 'is on a read-only file system' : 'is not writable'}`,
        'write the report somewhere writable',
      );
    }
  }
  return path;
}

/**
 * A report never overwrites the fleet's own files: the fleet file, its includes, or anything in
 * the data directory (the journal), whether named directly, through symbolic links (one that
 * points to a file not there yet too: the journal's -wal exists only while it is open) or as a
 * hard link. Checked once the fleet is loaded; the path the report is written to.
 */
export function checkReportNotFleetFile(flag: string, given: string, cwd: string, registry: Registry): string {
  const named = resolve(cwd, given);
  const path = writtenPath(given, cwd) ?? named;
  const fail = (what: string, hint: string): never => {
    throw new UserError(`${flag} ${given}: ${what}`, { hint });
  };
  const isLink = lstatOf(named)?.isSymbolicLink() === true;
  const through = isLink ? `${named} is a symbolic link to ${path},` : `${path} is`;
  const hint = isLink ? UNLINK : `write the report elsewhere, e.g. ${flag} report.xml`;
  if (registry.files.some((file) => writtenPath(file, cwd) === path)) {
    fail(`${through} a file of the fleet; the report would replace it`, hint);
  }
  const dataDir = writtenPath(registry.settings.dataDir, cwd) ?? registry.settings.dataDir;
  if (isInside(path, dataDir)) {
    fail(`${through} in the data directory ${dataDir}, which holds the journal`, hint);
  }
  // A file with other names (a hard link) may be any of them; one with a single name is the file
  // at its path, which the checks above covered.
  const stat = statOf(path);
  if (stat?.isFile() && stat.nlink > 1) {
    const same = [...registry.files, ...filesUnder(dataDir)].find((file) => {
      const other = statOf(file);
      return other !== undefined && other.dev === stat.dev && other.ino === stat.ino;
    });
    if (same !== undefined) {
      fail(`${named} is a hard link to ${same}; the report would replace it`, UNLINK);
    }
  }
  return path;
}

const UNLINK = 'remove the link (the file it names stays), or write the report elsewhere';

function isInside(path: string, directory: string): boolean {
  const below = relative(directory, path);
  return below !== '..' && !below.startsWith('../') && !isAbsolute(below);
}

/** Most symbolic links followed, as Linux's own limit (ELOOP). */
const MAX_LINKS = 40;

/**
 * The file a write to `given` lands on. One that exists: its real path, or as given when it is a
 * device or a pipe (`/dev/stdout`, whose link names a pipe, not a file). One that does not: its
 * directory's real path and its name, each symbolic link on the way followed, so a link that
 * points to a file not there yet leads to where the write would create it. Undefined for a loop
 * of links.
 */
function writtenPath(given: string, cwd: string): string | undefined {
  // Not resolve(): it folds `link/..` as text, where the system goes up from the link's target.
  let path = isAbsolute(given) ? given : `${cwd}/${given}`;
  for (let links = 0; links <= MAX_LINKS; links++) {
    const there = statOf(path);
    if (there !== undefined) return there.isFile() || there.isDirectory() ? realPath(path) : path;
    const file = join(realDirectory(dirname(path)), basename(path));
    let target: string;
    try {
      target = readlinkSync(file);
    } catch {
      return file; // not a link: nothing there yet
    }
    path = isAbsolute(target) ? target : `${dirname(file)}/${target}`;
  }
  return undefined;
}

function realPath(path: string): string {
  try {
    return realpathSync.native(path);
  } catch {
    return path;
  }
}

/** The real path of the longest part of `directory` that exists, then the rest as written. */
function realDirectory(directory: string): string {
  const rest: string[] = [];
  for (let at = directory; ; at = dirname(at)) {
    try {
      return join(realpathSync.native(at), ...rest);
    } catch {
      if (dirname(at) === at) return directory;
      rest.unshift(basename(at));
    }
  }
}

/** Every file in the directory and below it; none when it cannot be read. */
function filesUnder(directory: string): string[] {
  try {
    return readdirSync(directory, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
  } catch {
    return [];
  }
}

function lstatOf(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function statOf(path: string) {
  try {
    return statSync(path, { bigint: true });
  } catch {
    return undefined;
  }
}
