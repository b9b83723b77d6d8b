// Reads the main fleet file and the files its `include:` globs name, parsing each with positions
// and checking each against the schema (see CORE-005, loading). Nothing here knows about ids yet.
import { resolve } from 'node:path';
import type { ConfigError } from '../errors/config-error.js';
import type { FleetFile } from './fleet-file.js';
import { type FleetText, fleetDirectory, readFleetText, UNFIT_HINTS } from './fleet-text.js';
import { includeGlob } from './include-pattern.js';
import { includedPaths } from './included-paths.js';
import { displayPathFor } from './path-format.js';
import { validateAgainstSchema } from './schema.js';
import { schemaErrorsToConfigErrors } from './schema-errors.js';
import { lineCounterOf, locate, parseYamlSource, type YamlSource } from './yaml-source.js';

export interface FleetSources {
  readonly main: YamlSource;
  readonly included: readonly YamlSource[];
  /** Where the main file's relative paths start (`fleetDirectory`: its own, or the current one for standard input). */
  readonly rootDir: string;
  /** The main file's `include:` patterns, as written. */
  readonly includePatterns: readonly string[];
  /** Absolute include globs, for watchers. */
  readonly includeGlobs: readonly string[];
  readonly errors: readonly ConfigError[];
}

/**
 * Reads and schema-checks every file; `errors` is empty only when all of them are well-formed.
 * `mainRead`: the main file as the caller already read it (`readFleetText`), read here otherwise.
 */
export async function readFleetSources(
  mainPath: string,
  cwd: string,
  mainRead: FleetText = readFleetText(mainPath),
): Promise<FleetSources> {
  const rootDir = fleetDirectory(mainPath, cwd);
  const main = await readSource(mainPath, cwd, 'main', mainRead);
  if ('error' in main)
    return {
      main: emptySource(mainPath, cwd),
      rootDir,
      included: [],
      includePatterns: [],
      includeGlobs: [],
      errors: [main.error],
    };
  const errors: ConfigError[] = [...main.errors];
  if (main.errors.length === 0) {
    errors.push(...schemaErrorsToConfigErrors(main, await validateAgainstSchema(main.data, 'main'), 'main'));
  }
  const patterns = includePatterns(main.data);
  const includeGlobs = patterns.map((pattern) => resolve(rootDir, includeGlob(pattern)));
  const included: YamlSource[] = [];
  const { matches, paths } = await includedPaths(patterns, rootDir, mainPath);
  for (const [index, pattern] of patterns.entries()) {
    if (matches[index]?.length === 0 && !(await import('tinyglobby')).isDynamicPattern(pattern)) {
      const position = locate(main, ['include', index], 'value');
      // The globber lists regular files only: a directory or a FIFO named as it is matches
      // nothing, but is there, and is said to be what it is.
      const found = readFleetText(resolve(rootDir, pattern));
      const unfit = 'unfit' in found ? found : undefined;
      errors.push({
        file: main.displayPath,
        ...position,
        path: `include[${index}]`,
        message: `included file \`${pattern}\` ${unfit?.unfit ?? 'does not exist'}`,
        ...(unfit ? { hint: UNFIT_HINTS.included[unfit.kind].replace('DIR', pattern.replace(/\/+$/, '')) } : {}),
      });
    }
  }
  for (const path of paths) {
    const source = await readSource(path, cwd, 'included', readFleetText(path));
    if ('error' in source) {
      errors.push(source.error);
      continue;
    }
    errors.push(...source.errors);
    if (source.errors.length === 0) {
      errors.push(
        ...schemaErrorsToConfigErrors(source, await validateAgainstSchema(source.data, 'included'), 'included'),
      );
    }
    included.push(source);
  }
  return { main, rootDir, included, includePatterns: patterns, includeGlobs, errors };
}

async function readSource(
  path: string,
  cwd: string,
  role: 'main' | 'included',
  read: FleetText,
): Promise<YamlSource | { error: ConfigError }> {
  const displayPath = displayPathFor(path, cwd);
  if ('text' in read) {
    if (read.badByteAt === undefined) return parseYamlSource(path, displayPath, read.text);
    // CORE-005: refused where it is, as a NUL byte is; read on, it would be `\uFFFD` in a value.
    const { line, col: column } = lineCounterOf(read.text).linePos(read.badByteAt.index);
    const byte = read.badByteAt.byte.toString(16).toUpperCase().padStart(2, '0');
    return {
      error: {
        file: displayPath,
        line,
        column,
        path: '',
        message: `not UTF-8 text: the byte 0x${byte} here is no UTF-8 character`,
        hint: 'save the file as UTF-8; from Latin-1: `iconv -f latin1 -t utf-8 FILE`',
      },
    };
  }
  const missing = 'code' in read && read.code === 'ENOENT';
  const message =
    'unfit' in read
      ? `the ${role === 'main' ? 'fleet' : 'included'} file ${read.unfit}`
      : missing
        ? 'fleet file not found'
        : `cannot read the fleet file (${read.code})`;
  const hint = missing
    ? 'create one with `nixfleet init`, or pass `-f FILE`'
    : 'unfit' in read
      ? UNFIT_HINTS[role][read.kind]
      : undefined;
  return { error: { file: displayPath, line: 0, column: 0, path: '', message, ...(hint ? { hint } : {}) } };
}

function emptySource(path: string, cwd: string): YamlSource {
  return parseYamlSource(path, displayPathFor(path, cwd), '');
}

function includePatterns(data: unknown): string[] {
  const include = (data as FleetFile | undefined)?.include;
  return Array.isArray(include) ? include.filter((p): p is string => typeof p === 'string' && p !== '') : [];
}
