// The one way into a fleet: read the file and its includes, check them (YAML, schema, semantics)
// and compile a Registry snapshot. Every problem found is thrown at once as ConfigErrors.
import { resolve } from 'node:path';
import { ConfigErrors } from '../errors/config-error.js';
import type { Registry } from '../registry/types.js';
import { compileRegistry } from './compile-registry.js';
import type { Readings } from './fleet-cache.js';
import { readFleetSources } from './fleet-sources.js';
import type { FleetText } from './fleet-text.js';
import { mergeFleet } from './merged-fleet.js';
import { checkFleet } from './semantic-checks.js';
import { sortConfigErrors } from './sort-errors.js';

export interface LoadOptions {
  /** Overrides settings.dataDir. */
  readonly dataDir?: string;
  /** Base for relative paths and for the file names shown in errors (default: process.cwd()). */
  readonly cwd?: string;
  /** The main file as already read (`readFleetText`), so that it is read once; read here otherwise. */
  readonly mainRead?: FleetText;
}

export async function loadRegistry(file: string, options: LoadOptions = {}): Promise<Registry> {
  return (await loadFleetFiles(file, options)).registry;
}

/** loadRegistry, with what it read (the fleet cache keeps it). */
export async function loadFleetFiles(
  file: string,
  options: LoadOptions = {},
): Promise<{ registry: Registry; readings: Readings }> {
  const cwd = options.cwd ?? process.cwd();
  const mainPath = resolve(cwd, file);
  const sources = await readFleetSources(mainPath, cwd, options.mainRead);
  if (sources.errors.length > 0) throw new ConfigErrors(sortConfigErrors(sources.errors, sources));
  const { fleet, errors } = mergeFleet(sources.main, sources.included);
  errors.push(...checkFleet(fleet));
  if (errors.length > 0) throw new ConfigErrors(sortConfigErrors(errors, sources));
  const dataDir = options.dataDir === undefined ? undefined : resolve(cwd, options.dataDir);
  const registry = compileRegistry(fleet, sources.includeGlobs, {
    rootDir: sources.rootDir,
    ...(dataDir === undefined ? {} : { dataDir }),
  });
  return {
    registry,
    readings: {
      sources: fleet.files.map(({ path, text }) => ({ path, text })),
      includePatterns: sources.includePatterns,
    },
  };
}
