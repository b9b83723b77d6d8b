// What the watcher listens to for one registry snapshot (see CORE-006, watched files).
// chokidar 4 has no globs, so an include glob becomes its base directory plus a picomatch filter:
// a file created later that matches the glob is noticed, and directories that cannot hold a match
// are never descended (so a glob next to the data directory does not watch the SQLite files).
import { basename, dirname, relative, sep } from 'node:path';
import picomatch from 'picomatch';

export interface WatchTargets {
  /** Paths handed to chokidar: concrete files and glob base directories (absolute). */
  readonly paths: readonly string[];
  /** True for a file whose change should trigger a recompile. */
  isRelevantFile(path: string): boolean;
  /** False for a directory below a glob base that no file of the globs can be in. */
  mayContainMatches(dir: string): boolean;
}

interface GlobWatch {
  readonly base: string;
  /** The glob's segments below `base`, e.g. ['**', '*.yaml']. */
  readonly segments: readonly string[];
  readonly matches: (path: string) => boolean;
}

/** Directories a recursive glob never descends into, whatever it says. */
const NEVER_DESCEND = new Set(['node_modules', '.git']);

/**
 * @param files every file the last compile read, plus the main file and any file named by the
 *   last errors (so fixing a broken include is noticed even before a good compile).
 * @param includeGlobs absolute include globs of the last good snapshot.
 * @param mainFile the fleet file, watched through its directory as a literal include is: a file
 *   watched on its own is forgotten once deleted, and its re-creation would go unnoticed.
 */
export function deriveWatchTargets(
  files: Iterable<string>,
  includeGlobs: readonly string[],
  mainFile: string,
): WatchTargets {
  const fileSet = new Set(files);
  const globs = [...includeGlobs.map(toGlobWatch), literalWatch(mainFile)];
  const paths = new Set<string>([...fileSet, ...globs.map((g) => g.base)]);
  return {
    paths: [...paths],
    isRelevantFile: (path) => fileSet.has(path) || globs.some((g) => g.matches(path)),
    mayContainMatches: (dir) => globs.some((g) => globMayReach(g, dir)) || isAncestorOfAny(dir, paths),
  };
}

/** As config/fleet-sources.ts reads includes: extglobs could backtrack for ever (CORE-005). */
const NO_EXTGLOB = { noextglob: true } as const;

function toGlobWatch(glob: string): GlobWatch {
  const scan = picomatch.scan(glob);
  // A literal include (no glob characters) is watched through its directory, so it is noticed
  // when it is created, renamed over or deleted.
  const base = scan.isGlob ? scan.base : dirname(glob);
  const rest = scan.isGlob ? scan.glob : glob.slice(base.length + 1);
  return { base, segments: rest.split('/'), matches: picomatch(glob, NO_EXTGLOB) };
}

/** A file by its exact path (never read as a glob), watched through its directory. */
function literalWatch(path: string): GlobWatch {
  return { base: dirname(path), segments: [basename(path)], matches: (candidate) => candidate === path };
}

function globMayReach(glob: GlobWatch, dir: string): boolean {
  if (dir === glob.base) return true;
  const rel = relative(glob.base, dir);
  if (rel.startsWith('..') || rel === '') return false;
  const parts = rel.split(sep);
  for (const [i, part] of parts.entries()) {
    const segment = glob.segments[i];
    if (segment === undefined || i === glob.segments.length - 1) return false;
    if (segment === '**') return parts.slice(i).every((p) => !p.startsWith('.') && !NEVER_DESCEND.has(p));
    if (!picomatch.isMatch(part, segment, NO_EXTGLOB)) return false;
  }
  return true;
}

function isAncestorOfAny(dir: string, paths: Iterable<string>): boolean {
  for (const path of paths) if (path === dir || path.startsWith(dir + sep)) return true;
  return false;
}
