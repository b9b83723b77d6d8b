// The fleet cache (see CORE-005, start-up): the last fleet a command compiled, kept in the data
// directory with everything the compile depended on, so that the next `validate`, `plan`, `list`,
// `apply` or `retry` of the same fleet takes its registry back instead of parsing, checking and
// compiling the file again. Only a fleet without `include:` is kept: its one file's text, the build
// of nixfleet, the home directory (`~/` in paths), the working directory and `--data-dir` are all
// a compile reads, and an entry is used only when every one of them is the same. A compile that
// fails is not kept: its errors are found again.
//
// Small on purpose: it loads with every command that compiles a fleet, and must not load the
// compiler it stands in for.
import { readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Host, Op, Pipeline, Registry, SecretDeclaration } from '../registry/types.js';
import { lazyHash } from './content-hash.js';

/** Set by scripts/bundle-cli.mjs to a hash of the build: absent when run from tsc's output or the sources. */
declare const NIXFLEET_BUILD_ID: string | undefined;
const BUILD = typeof NIXFLEET_BUILD_ID === 'string' ? NIXFLEET_BUILD_ID : undefined;

/** The entry's file, in the data directory. */
export const FLEET_CACHE_FILE = 'fleet-cache.json';
const FORMAT = 1;

/** What a compile reads besides the fleet file's text. */
export interface CompileInputs {
  /** The main fleet file, absolute. */
  readonly file: string;
  readonly cwd: string;
  /** `--data-dir` or `$NIXFLEET_DATA_DIR`, resolved; null when neither is given. */
  readonly dataDir: string | null;
}

interface Entry {
  readonly format: number;
  readonly build: string;
  readonly home: string;
  readonly inputs: CompileInputs;
  readonly text: string;
  readonly registry: EncodedRegistry;
}

export interface EncodedRegistry {
  readonly file: string;
  readonly rootDir: string;
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

/** The registry kept in `dataDir` for these inputs and this text, or undefined. */
export function cachedRegistry(dataDir: string, inputs: CompileInputs, text: string): Registry | undefined {
  let entry: Entry;
  try {
    entry = JSON.parse(readFileSync(join(dataDir, FLEET_CACHE_FILE), 'utf8')) as Entry;
  } catch {
    return undefined;
  }
  const same =
    BUILD !== undefined &&
    entry?.format === FORMAT &&
    entry.build === BUILD &&
    entry.home === homedir() &&
    entry.inputs?.file === inputs.file &&
    entry.inputs.cwd === inputs.cwd &&
    entry.inputs.dataDir === inputs.dataDir &&
    entry.text === text;
  if (!same) return undefined;
  try {
    return decodeRegistry(entry.registry, text);
  } catch {
    return undefined;
  }
}

/**
 * Keeps a registry just compiled from `sources` in its data directory, when that directory exists
 * (the cache never creates it) and the fleet has no includes. Best effort: a directory nixfleet
 * may not write only means the next start compiles again.
 */
export function keepRegistry(
  inputs: CompileInputs,
  sources: readonly { readonly path: string; readonly text: string }[],
  registry: Registry,
): void {
  const [main] = sources;
  if (BUILD === undefined || sources.length !== 1 || main?.path !== inputs.file || registry.includeGlobs.length > 0)
    return;
  const dir = registry.settings.dataDir;
  if (!isDirectory(dir)) return;
  const entry: Entry = {
    format: FORMAT,
    build: BUILD,
    home: homedir(),
    inputs,
    text: main.text,
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
    settings: registry.settings,
    hosts: [...registry.hosts.values()],
    ops: [...registry.ops.values()],
    pipelines: [...registry.pipelines.values()],
    secrets: [...registry.secrets.values()],
  };
}

/** The registry as compileRegistry builds it (config/compile-registry.ts): frozen, in the file's order. */
export function decodeRegistry(encoded: EncodedRegistry, text: string): Registry {
  const byId = <T extends { readonly id: string }>(items: readonly T[]) =>
    new Map(items.map((item) => [item.id, deepFreeze(item)]));
  const hash = lazyHash([{ path: encoded.file, text }]);
  return Object.freeze({
    file: encoded.file,
    rootDir: encoded.rootDir,
    files: Object.freeze([encoded.file]),
    includeGlobs: Object.freeze([]),
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

/** False for a missing path, or one that cannot be a directory (`ENOTDIR`, `ELOOP`, a name too long). */
function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const inner of Object.values(value)) deepFreeze(inner);
    Object.freeze(value);
  }
  return value;
}
