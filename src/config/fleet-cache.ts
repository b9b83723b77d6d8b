// The fleet cache (see CORE-005, start-up): the last fleet a command compiled, kept in the data
// directory with everything the compile depended on, so that the next `validate`, `plan`, `list`,
// `apply` or `retry` of the same fleet takes its registry back instead of parsing, checking and
// compiling it again. A compile reads the texts of the main file and of the files its `include:`
// patterns name, the home directory (`~/` in paths) and `--data-dir`; an entry is used only when
// the same build of nixfleet wrote it and every one of those is the same, the patterns naming the
// same files. The working directory is not among them: a compile resolves every path from the
// fleet file's directory or the home directory (`--data-dir` comes resolved, and standard input,
// whose paths start from the working directory, is never kept); only the paths in its error texts
// start from the working directory. A compile that fails is not kept: its errors are found again.
//
// Small on purpose: it loads with every command that compiles a fleet, and must not load the
// compiler it stands in for.
import { readFileSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { isDirectory } from '../domain/is-directory.js';
import type { Host, Op, Pipeline, Registry, SecretDeclaration } from '../registry/types.js';
import { lazyHash } from './content-hash.js';
import { readFleetText } from './fleet-text.js';
import { includedPaths } from './included-paths.js';

/** Set by scripts/bundle-cli.mjs to a hash of the build: absent when run from tsc's output or the sources. */
declare const NIXFLEET_BUILD_ID: string | undefined;
const BUILD = typeof NIXFLEET_BUILD_ID === 'string' ? NIXFLEET_BUILD_ID : undefined;

/** The entry's file, in the data directory. */
export const FLEET_CACHE_FILE = 'fleet-cache.json';
/** Raised when what an entry holds changes, so that older entries are not used (3: no working directory). */
const FORMAT = 3;

/** What a compile reads besides the fleet file's text. */
export interface CompileInputs {
  /** The main fleet file, absolute. */
  readonly file: string;
  /** `--data-dir` or `$NIXFLEET_DATA_DIR`, resolved; null when neither is given. */
  readonly dataDir: string | null;
}

/** What a compile read: every file's path and text, the main file first, and its `include:` patterns. */
export interface Readings {
  readonly sources: readonly { readonly path: string; readonly text: string }[];
  readonly includePatterns: readonly string[];
}

interface Entry {
  readonly format: number;
  readonly build: string;
  readonly home: string;
  readonly inputs: CompileInputs;
  readonly readings: Readings;
  readonly registry: EncodedRegistry;
}

export interface EncodedRegistry {
  readonly file: string;
  readonly rootDir: string;
  readonly includeGlobs: readonly string[];
  readonly settings: Registry['settings'];
  readonly hosts: readonly Host[];
  readonly ops: readonly Op[];
  readonly pipelines: readonly Pipeline[];
  readonly secrets: readonly SecretDeclaration[];
}

/** False when run from tsc's output or the sources: no build id tells one build's entries from another's. */
export function fleetCacheAvailable(): boolean {
  return BUILD !== undefined;
}

/** The registry kept in `dataDir` for these inputs and this main file's text, or undefined. */
export async function cachedRegistry(
  dataDir: string,
  inputs: CompileInputs,
  text: string,
): Promise<Registry | undefined> {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(join(dataDir, FLEET_CACHE_FILE), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  try {
    const same =
      BUILD !== undefined &&
      entry?.format === FORMAT &&
      entry.build === BUILD &&
      entry.home === homedir() &&
      entry.inputs?.file === inputs.file &&
      entry.inputs.dataDir === inputs.dataDir &&
      entry.readings.sources[0]?.path === inputs.file &&
      entry.readings.sources[0].text === text &&
      (await sameIncludes(entry.readings, inputs.file));
    return same ? decodeRegistry(entry.registry, entry.readings) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the patterns still name the files they named, in the same order, each with the same text. */
async function sameIncludes({ sources, includePatterns }: Readings, file: string): Promise<boolean> {
  if (includePatterns.length === 0) return sources.length === 1;
  const { paths } = await includedPaths(includePatterns, dirname(file), file);
  if (paths.length !== sources.length - 1) return false;
  return paths.every((path, index) => {
    const kept = sources[index + 1];
    if (kept?.path !== path) return false;
    const read = readFleetText(path);
    return 'text' in read && read.text === kept.text;
  });
}

/**
 * Keeps a registry just compiled from `readings` in its data directory, when that directory exists
 * (the cache never creates it). Best effort: a directory nixfleet may not write only means the
 * next start compiles again.
 */
export function keepRegistry(inputs: CompileInputs, readings: Readings, registry: Registry): void {
  if (BUILD === undefined || readings.sources[0]?.path !== inputs.file) return;
  const dir = registry.settings.dataDir;
  if (!isDirectory(dir)) return;
  const entry: Entry = {
    format: FORMAT,
    build: BUILD,
    home: homedir(),
    inputs,
    readings: { sources: readings.sources, includePatterns: readings.includePatterns },
    registry: encodeRegistry(registry),
  };
  // Written beside and renamed into place: a command starting meanwhile reads the old entry or
  // the new one, never half of one. 0600: the file holds the fleet's text, settings.store included.
  const temporary = join(dir, `${FLEET_CACHE_FILE}.${process.pid}`);
  try {
    writeFileSync(temporary, JSON.stringify(entry), { mode: 0o600 });
    renameSync(temporary, join(dir, FLEET_CACHE_FILE));
  } catch {
    try {
      unlinkSync(temporary);
    } catch {
      // Never written.
    }
  }
}

/** The registry as JSON can hold it: its maps as lists, in their order. */
export function encodeRegistry(registry: Registry): EncodedRegistry {
  return {
    file: registry.file,
    rootDir: registry.rootDir,
    includeGlobs: registry.includeGlobs,
    settings: registry.settings,
    hosts: [...registry.hosts.values()],
    ops: [...registry.ops.values()],
    pipelines: [...registry.pipelines.values()],
    secrets: [...registry.secrets.values()],
  };
}

/** The registry as compileRegistry builds it (config/compile-registry.ts): frozen, in the file's order. */
export function decodeRegistry(encoded: EncodedRegistry, readings: Readings): Registry {
  const byId = <T extends { readonly id: string }>(items: readonly T[]) =>
    new Map(items.map((item) => [item.id, deepFreeze(item)]));
  const hash = lazyHash(readings.sources);
  return Object.freeze({
    file: encoded.file,
    rootDir: encoded.rootDir,
    files: Object.freeze(readings.sources.map((source) => source.path)),
    includeGlobs: Object.freeze([...encoded.includeGlobs]),
    settings: deepFreeze(encoded.settings),
    hosts: byId(encoded.hosts),
    ops: byId(encoded.ops),
    pipelines: byId(encoded.pipelines),
    secrets: new Map(encoded.secrets.map((secret) => [secret.name, deepFreeze(secret)])),
    get hash() {
      return hash();
    },
  });
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
