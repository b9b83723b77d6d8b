import { readdir, stat } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { type FSWatcher, watch } from 'chokidar';
import { isDirectory } from '../domain/is-directory.js';
import { type ConfigError, ConfigErrors } from '../errors/config-error.js';
import { diffRegistries, sameContent } from '../registry/diff.js';
import type { Registry, RegistryDiff } from '../registry/types.js';
import type { Journal } from '../store/types.js';
import { compileInWorker } from './compile-in-worker.js';
import { journalInitialRegistry, journalReload, journalReloadFailure } from './reload-journal.js';
import { createSaveCoalescer } from './save-coalescer.js';
import { deriveWatchTargets, type WatchTargets } from './watch-targets.js';

export type CompileRegistry = (file: string, options: { dataDir?: string; cwd?: string }) => Promise<Registry>;

export interface ReloadInfo {
  /** In-process registry version: 1 for the first good snapshot, +1 per reload. */
  readonly version: number;
  /** Absolute paths whose events triggered the reload. */
  readonly changedFiles: readonly string[];
  readonly settingsChanged: boolean;
  /** A secret declared, removed, or read from somewhere else (CORE-010). */
  readonly secretsChanged: boolean;
  /** The changed files as the user names them (relative to the fleet file's directory). */
  readonly label: string;
}

export interface WatchRegistryOptions {
  readonly dataDir?: string;
  /** Base for relative paths and for file names in errors; default process.cwd(). */
  readonly cwd?: string;
  /** A new snapshot is current. Not called for the first one when `ready` resolves with it. */
  onReload(registry: Registry, diff: RegistryDiff, info: ReloadInfo): void;
  /** A save did not compile; the previous snapshot (if any) stays current. */
  onError(errors: readonly ConfigError[]): void;
  /** A good save after a broken one, with the same content as the current snapshot: no reload. */
  onRestored?(registry: Registry): void;
  /** When given, reloads are journaled (registry_reloaded change + registry event). */
  readonly journal?: Journal;
  /** Who the journal names for reloads; default `watch`. */
  readonly actor?: string;
  /** Quiet period that ends a burst of events, in ms; default 60. */
  readonly debounceMs?: number;
  /** Defaults to the fleet loader; benchmarks pass a timed wrapper. */
  readonly compile?: CompileRegistry;
}

export interface RegistryWatcher {
  /**
   * The first good snapshot, once the files are watched. Rejects with ConfigErrors when the fleet
   * file does not compile at start; the watcher keeps watching until closed, and a later good
   * save arrives through onReload (with a diff against nothing).
   */
  readonly ready: Promise<Registry>;
  /** The current snapshot. Throws before the first good compile. */
  current(): Registry;
  /** The current snapshot's version (0 before the first good compile). */
  version(): number;
  close(): Promise<void>;
}

export const DEFAULT_DEBOUNCE_MS = 60;
/** How long after the watched paths grew they are listed once more (see `rescan`). */
const RESCAN_MS = 1_000;

export function watchRegistry(file: string, options: WatchRegistryOptions): RegistryWatcher {
  const cwd = options.cwd ?? process.cwd();
  const mainFile = resolve(cwd, file);
  const compile = options.compile ?? compileInWorker;
  const actor = options.actor ?? 'watch';
  const compileOptions = { cwd, ...(options.dataDir === undefined ? {} : { dataDir: resolve(cwd, options.dataDir) }) };

  let snapshot: Registry | undefined;
  let version = 0;
  let errorFiles: string[] = [];
  let isBroken = false;
  let isClosed = false;
  let inFlight: Promise<void> | undefined;
  let targets: WatchTargets = deriveWatchTargets([mainFile], [], mainFile);
  let targetGlobs: readonly string[] = [];
  let watcher: FSWatcher | undefined;
  const checkedOnly = new Set<string>();
  /** Paths the watched set gained, listed again once RESCAN_MS has passed since the last gain. */
  const toRescan = new Set<string>();
  let rescanTimer: NodeJS.Timeout | undefined;

  const coalescer = createSaveCoalescer(options.debounceMs ?? DEFAULT_DEBOUNCE_MS, () => {
    if (inFlight === undefined) inFlight = recompile().finally(() => (inFlight = undefined));
  });

  async function recompile(): Promise<void> {
    // Paths touched only by the start-up mtime check are not reported as changed by the user.
    const changedFiles = coalescer.take().filter((path) => !checkedOnly.has(path));
    checkedOnly.clear();
    const result = await compileOrErrors();
    if (isClosed) return;
    if (coalescer.hasPending) {
      // Files changed while compiling: this result may be of a half-written save. Drop it and
      // compile again once the files settle (CORE-006: never a snapshot of a half-written file).
      coalescer.restore(changedFiles);
      coalescer.rearm();
      return;
    }
    if (Array.isArray(result)) reportErrors(result);
    else acceptSnapshot(result, changedFiles);
  }

  async function compileOrErrors(): Promise<Registry | ConfigError[]> {
    try {
      return await compile(mainFile, compileOptions);
    } catch (error) {
      if (error instanceof ConfigErrors) return [...error.errors];
      const message = error instanceof Error ? error.message : String(error);
      return [{ file: displayPath(mainFile), line: 0, column: 0, path: '', message }];
    }
  }

  function acceptSnapshot(next: Registry, changedFiles: readonly string[]): void {
    const previous = snapshot;
    const wasBroken = isBroken;
    isBroken = false;
    errorFiles = [];
    if (previous !== undefined && previous.hash === next.hash) {
      // CORE-006: the same content is not a reload (a save without edits, or a fix back to it).
      if (wasBroken) options.onRestored?.(previous);
      retarget(previous);
      return;
    }
    snapshot = next;
    version += 1;
    const diff = diffRegistries(previous ?? null, next);
    const info: ReloadInfo = {
      version,
      changedFiles,
      settingsChanged: previous !== undefined && !sameContent(previous.settings, next.settings),
      secretsChanged: previous !== undefined && !sameContent(previous.secrets, next.secrets),
      label: labelFor(next, changedFiles),
    };
    retarget(next);
    guardJournal(() => options.journal && journalReload(options.journal, actor, { ...info, registry: next, diff }));
    options.onReload(next, diff, info);
  }

  function reportErrors(errors: readonly ConfigError[]): void {
    isBroken = true;
    errorFiles = errors.filter((e) => e.file !== '').map((e) => resolve(cwd, e.file));
    if (snapshot) retarget(snapshot);
    else retarget(undefined);
    guardJournal(
      () => options.journal && journalReloadFailure(options.journal, actor, errors, snapshot ? version : null),
    );
    options.onError(errors);
  }

  function guardJournal(write: () => unknown): void {
    try {
      write();
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const where = options.journal?.dbPath ?? 'journal';
      options.onError([
        { file: where, line: 0, column: 0, path: '', message: `could not journal the reload: ${message}` },
      ]);
    }
  }

  /** Re-derives the watched paths after each compile: includes may have changed (CORE-006). */
  function retarget(registry: Registry | undefined): void {
    const files = [mainFile, ...(registry?.files ?? []), ...errorFiles];
    const globs = registry?.includeGlobs ?? [];
    const next = deriveWatchTargets(files, globs, mainFile);
    const before = new Set(targets.paths);
    const after = new Set(next.paths);
    // chokidar skipped the directories the old globs could not reach, below a directory watched
    // before and after (`ops/*.yaml` widened to `ops/**/*.yaml`): given again, it lists them anew.
    const globsChanged = globs.length !== targetGlobs.length || globs.some((g, i) => g !== targetGlobs[i]);
    targets = next;
    targetGlobs = globs;
    if (!watcher) return;
    const added = [...after].filter((p) => !before.has(p) || (globsChanged && isDirectory(p)));
    const dropped = [...before].filter((p) => !after.has(p));
    if (added.length > 0) {
      watcher.add(added);
      for (const path of added) toRescan.add(path);
      clearTimeout(rescanTimer);
      rescanTimer = setTimeout(() => void rescan(), RESCAN_MS);
      rescanTimer.unref();
    }
    if (dropped.length > 0) watcher.unwatch(dropped);
  }

  /**
   * chokidar lists a directory it is given before it watches it, so a file created in between is
   * never reported: a reload that adds an include glob, and a file created under it at once.
   * Once that watch is surely up, the new directories are listed again, pruned as chokidar prunes
   * them, and each matching file the snapshot did not read counts as a save.
   */
  async function rescan(): Promise<void> {
    const pending = [...toRescan];
    toRescan.clear();
    const read = new Set(snapshot?.files ?? []);
    for (let dir = pending.pop(); dir !== undefined; dir = pending.pop()) {
      // A file in the list (a literal include) is not listed: it was read, or its error names it.
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      if (isClosed) return;
      for (const entry of entries) {
        const path = join(dir, entry.name);
        if (entry.isDirectory()) {
          if (targets.mayContainMatches(path)) pending.push(path);
        } else if (entry.isFile() && targets.isRelevantFile(path) && !read.has(path)) {
          coalescer.touch(path);
        }
      }
    }
  }

  function startWatching(): Promise<void> {
    let isReady = false;
    watcher = watch([...targets.paths], {
      // Initial adds are wanted for paths added after a reload (a new include directory): a file
      // created there before chokidar watched it is then still reported. Before `ready` they are
      // just the files the first compile read, and the mtime check covers saves in that window.
      ignoreInitial: false,
      ignored: (path, stats) => {
        if (!stats) return false;
        return stats.isDirectory() ? !targets.mayContainMatches(path) : !targets.isRelevantFile(path);
      },
    });
    watcher.on('all', (event, path) => {
      if (!isReady || event === 'addDir' || event === 'unlinkDir') return;
      if (!targets.isRelevantFile(path)) return;
      checkedOnly.delete(path);
      coalescer.touch(path);
    });
    const started = watcher;
    return new Promise((resolveReady) => {
      started.once('ready', () => {
        isReady = true;
        resolveReady();
      });
      // e.g. ENOSPC when the inotify watch limit is reached: say so, keep the current snapshot.
      started.on('error', (error) => {
        const message = error instanceof Error ? error.message : String(error);
        options.onError([
          { file: displayPath(mainFile), line: 0, column: 0, path: '', message: `watching failed: ${message}` },
        ]);
      });
    });
  }

  /** A save between reading the files and watching them would be missed: check mtimes once. */
  async function noticeSavesDuring(startedAt: number, files: readonly string[]): Promise<void> {
    for (const path of files) {
      const mtime = await stat(path).then(
        (s) => s.mtimeMs,
        () => Number.POSITIVE_INFINITY,
      );
      // Kernel timestamps are coarse, so "maybe during" counts: a needless compile finds the same
      // hash and is not a reload.
      if (mtime >= startedAt && !coalescer.hasPending) {
        checkedOnly.add(path);
        coalescer.touch(path);
      }
    }
  }

  function displayPath(path: string): string {
    return relative(cwd, path) || path;
  }

  async function start(): Promise<Registry> {
    const startedAt = Date.now() - 1;
    const first = await compileOrErrors();
    if (Array.isArray(first)) {
      isBroken = true;
      errorFiles = first.filter((e) => e.file !== '').map((e) => resolve(cwd, e.file));
      retarget(undefined);
      if (!isClosed) await startWatching();
      guardJournal(() => options.journal && journalReloadFailure(options.journal, actor, first, null));
      throw new ConfigErrors(first);
    }
    snapshot = first;
    version = 1;
    retarget(first);
    if (isClosed) return first;
    await startWatching();
    await noticeSavesDuring(startedAt, first.files);
    guardJournal(() => options.journal && journalInitialRegistry(options.journal, actor, first, displayPath(mainFile)));
    return first;
  }

  const ready = start();
  // Callers that only use onReload/onError must not crash on an unobserved rejection.
  ready.catch(() => undefined);

  return {
    ready,
    current() {
      if (!snapshot) throw new Error('watchRegistry: no valid registry yet (await `ready` first)');
      return snapshot;
    },
    version: () => version,
    async close() {
      isClosed = true;
      clearTimeout(rescanTimer);
      coalescer.cancel();
      await ready.catch(() => undefined);
      await watcher?.close();
      await inFlight;
    },
  };
}

function labelFor(registry: Registry, changedFiles: readonly string[]): string {
  const names = (changedFiles.length > 0 ? changedFiles : [registry.file]).map(
    (f) => relative(registry.rootDir, f) || f,
  );
  return names.length > 3 ? `${names.slice(0, 3).join(', ')} +${names.length - 3} more` : names.join(', ');
}
