// Report files (`--junit FILE`) are checked before a run starts: a path that cannot be written
// is a usage error (exit 2) that costs nothing, instead of a whole run whose report is then lost
// (see CORE-002, reports).
import { accessSync, constants, realpathSync, statSync } from 'node:fs';
import { dirname, resolve, sep } from 'node:path';
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';

/** The absolute path of the report, or a UserError saying why it cannot be written. */
export function checkReportPath(flag: string, given: string, cwd: string): string {
  const path = resolve(cwd, given);
  const directory = dirname(path);
  const fail = (why: string, hint: string): never => {
    throw new UserError(`${flag} ${given}: ${why}`, { hint });
  };
  const stat = statOf(path);
  if (stat?.isDirectory())
    fail(`${path} is a directory`, `name a file, e.g. ${flag} ${given.replace(/\/?$/, '/report.xml')}`);
  const parent = statOf(directory);
  if (parent === undefined)
    fail(`the directory ${directory} does not exist`, `create it first, or write the report elsewhere`);
  if (!parent!.isDirectory()) fail(`${directory} is not a directory`, 'write the report elsewhere');
  try {
    accessSync(stat === undefined ? directory : path, constants.W_OK);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === 'EROFS' ? 'is on a read-only file system' : 'is not writable';
    fail(`${stat === undefined ? directory : path} ${why}`, 'write the report somewhere writable');
  }
  return path;
}

/**
 * A report never overwrites the fleet's own files: the fleet file, its includes, or anything in
 * the data directory (the journal). Checked once the fleet is loaded.
 */
export function checkReportNotFleetFile(flag: string, given: string, cwd: string, registry: Registry): void {
  const path = realPath(resolve(cwd, given));
  const hint = `write the report elsewhere, e.g. ${flag} report.xml`;
  if (registry.files.some((file) => realPath(file) === path)) {
    throw new UserError(`${flag} ${given}: ${path} is a file of the fleet; the report would replace it`, { hint });
  }
  const dataDir = realPath(registry.settings.dataDir);
  if (path === dataDir || path.startsWith(`${dataDir}${sep}`)) {
    throw new UserError(`${flag} ${given}: ${path} is in the data directory ${dataDir}, which holds the journal`, {
      hint,
    });
  }
}

function realPath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

function statOf(path: string) {
  try {
    return statSync(path);
  } catch {
    return undefined;
  }
}
