// One setting read from a fleet file's text without compiling it, for the commands that only
// read the journal (load-fleet.ts). A module of its own so that yaml loads only when the text is
// parsed (see CORE-005, start-up).
import { parse } from 'yaml';

/** A string setting, or undefined (not YAML, not set, empty). */
export function parsedSetting(text: string, key: 'dataDir' | 'store'): string | undefined {
  let configured: unknown;
  try {
    // A warning (an unknown tag) is for `validate` to report, not for `runs` to print.
    configured = (parse(text, { logLevel: 'error' }) as { settings?: Record<string, unknown> } | null)?.settings?.[key];
  } catch {
    configured = undefined;
  }
  return typeof configured === 'string' && configured !== '' ? configured : undefined;
}
