// Which files a fleet's `include:` patterns name (see CORE-005, includes): what the compiler reads
// (fleet-sources.ts) and what the fleet cache checks is still so before it gives a registry back
// (fleet-cache.ts), found the same way by both.
import { realpathSync } from 'node:fs';
import { resolve } from 'node:path';
import { includeGlob } from './include-pattern.js';

export interface IncludedPaths {
  /** Per pattern, in order: the regular files it matches, absolute and sorted. */
  readonly matches: readonly (readonly string[])[];
  /**
   * The files to read, in the patterns' order, each once by real path and never the main file: a
   * symbolic link under an include glob (`ops/up -> ..`) must not read the main file, or any file,
   * a second time.
   */
  readonly paths: readonly string[];
}

export async function includedPaths(
  patterns: readonly string[],
  rootDir: string,
  mainPath: string,
): Promise<IncludedPaths> {
  const matches: string[][] = [];
  const paths: string[] = [];
  const seen = new Set([realPathOf(mainPath)]);
  for (const pattern of patterns) {
    const found = await filesFor(includeGlob(pattern), rootDir);
    matches.push(found);
    for (const path of found) {
      const real = realPathOf(path);
      if (seen.has(real)) continue;
      seen.add(real);
      paths.push(path);
    }
  }
  return { matches, paths };
}

function realPathOf(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

async function filesFor(pattern: string, rootDir: string): Promise<string[]> {
  // Loaded only for a fleet with `include:` (start-up, see CORE-005).
  const { glob } = await import('tinyglobby');
  // No extglobs, and include-pattern.ts made `(`, `)` and `|` literal: both could backtrack for ever.
  const found = await glob(pattern, {
    cwd: rootDir,
    absolute: true,
    onlyFiles: true,
    expandDirectories: false,
    extglob: false,
  });
  return found.map((path) => resolve(path)).sort();
}
