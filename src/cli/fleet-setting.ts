// One setting read from a fleet file's text without compiling it, for the commands that only
// read the journal (load-fleet.ts). A module of its own so that yaml loads only when the text is
// parsed (see CORE-005, start-up).
import { parseDocument } from 'yaml';
import { aliasExpansionProblem, aliasTargets } from '../config/alias-expansion.js';

/** A string setting, or undefined (not YAML, not set, empty). */
export function parsedSetting(text: string, key: 'dataDir' | 'store'): string | undefined {
  let configured: unknown;
  try {
    // Read as the fleet compiler reads it (src/config/yaml-source.ts), or `apply` and `runs`
    // would find different journals: merge keys applied, and aliases bounded by what they expand
    // to rather than by the yaml package's count of them, which refuses 150 hosts sharing one
    // anchor. A warning (an unknown tag) is for `validate` to report, not for `runs` to print.
    const document = parseDocument(text, { merge: true, uniqueKeys: false, logLevel: 'error' });
    if (document.errors.length > 0 || aliasExpansionProblem(document, aliasTargets(document))) return undefined;
    const data = document.toJS({ maxAliasCount: -1 }) as { settings?: Record<string, unknown> } | null;
    configured = data?.settings?.[key];
  } catch {
    configured = undefined;
  }
  return typeof configured === 'string' && configured !== '' ? configured : undefined;
}
