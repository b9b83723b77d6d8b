// Journaling of live reloads (see CORE-006, journal): a good reload is a `registry_reloaded`
// change plus a `registry/reloaded` event saying what changed; a broken save is a
// `registry/reload_failed` warn event. The dashboard learns about both through State Sync.
import { type ConfigError, formatConfigError } from '../errors/config-error.js';
import { diffSummaries } from '../registry/diff.js';
import { declaredHosts, summarizeRegistry } from '../registry/summary.js';
import type { Registry, RegistryDiff } from '../registry/types.js';
import type { Journal } from '../store/types.js';
import { describeDiff } from './describe-diff.js';

export interface ReloadRecord {
  readonly version: number;
  readonly registry: Registry;
  readonly diff: RegistryDiff;
  readonly settingsChanged: boolean;
  readonly secretsChanged: boolean;
  /** Absolute paths whose events triggered the reload. */
  readonly changedFiles: readonly string[];
  /** How the files are named to the user (e.g. relative to the working directory). */
  readonly label: string;
}

/**
 * At start: records the snapshot unless the journal already holds the same content, so a
 * restarted `watch` or `serve` on an unchanged fleet adds no change.
 */
export function journalInitialRegistry(journal: Journal, actor: string, registry: Registry, label: string): void {
  syncDeclaredHosts(journal, registry);
  const stored = journal.currentRegistry();
  if (stored?.hash === registry.hash) return;
  const summary = summarizeRegistry(registry);
  const diff = diffSummaries(stored, summary);
  journal.recordRegistry(summary, diff);
  journal.logEvent({
    category: 'registry',
    level: 'info',
    actor,
    action: 'loaded',
    message: `loaded ${label}: ${describeDiff(diff)}`,
    details: { hash: registry.hash, files: registry.files, diff },
  });
}

export function journalReload(journal: Journal, actor: string, reload: ReloadRecord): void {
  syncDeclaredHosts(journal, reload.registry);
  // Another process on the same data directory (a `serve` beside this `watch`) may have
  // journaled this very content already: one change per content, not one per watcher.
  if (journal.currentRegistry()?.hash === reload.registry.hash) return;
  journal.recordRegistry(summarizeRegistry(reload.registry), reload.diff);
  journal.logEvent({
    category: 'registry',
    level: 'info',
    actor,
    action: 'reloaded',
    message: `reloaded ${reload.label} (v${reload.version}): ${describeDiff(reload.diff, reload)}`,
    details: {
      version: reload.version,
      hash: reload.registry.hash,
      changedFiles: reload.changedFiles,
      diff: reload.diff,
      settingsChanged: reload.settingsChanged,
      secretsChanged: reload.secretsChanged,
    },
  });
}

export function journalReloadFailure(
  journal: Journal,
  actor: string,
  errors: readonly ConfigError[],
  keptVersion: number | null,
): void {
  const kept = keptVersion === null ? 'no valid registry yet' : `kept v${keptVersion}`;
  journal.logEvent({
    category: 'registry',
    level: 'warn',
    actor,
    action: 'reload_failed',
    message: `${errors.length} error(s) in the fleet file; ${kept}: ${errors.map(formatConfigError).join('; ')}`,
    details: { errors, keptVersion },
  });
}

/** The hosts table follows the fleet: hosts a save adds or removes appear live (only real differences are changes). */
function syncDeclaredHosts(journal: Journal, registry: Registry): void {
  journal.syncHosts(declaredHosts(registry));
}
