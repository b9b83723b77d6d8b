// Checks of the `secrets:` section the schema cannot express (see CORE-010): each secret names
// exactly one source. Nothing here reads a secret: `validate` and `plan` never resolve them.
import type { ConfigError } from '../errors/config-error.js';
import { errorAt } from './located-error.js';
import type { MergedFleet } from './merged-fleet.js';

const SOURCES = ['env', 'file', 'command'] as const;

export function checkSecrets(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  for (const { id, value, source } of fleet.secrets.values()) {
    const given = SOURCES.filter((key) => value[key] !== undefined);
    if (given.length === 1) continue;
    const message =
      given.length === 0
        ? `secret \`${id}\` names no source`
        : `secret \`${id}\` names ${given.length} sources (${given.map((key) => `\`${key}\``).join(', ')})`;
    errors.push(
      errorAt(
        source,
        given.length === 0 ? ['secrets', id] : ['secrets', id, given[1]!],
        'key',
        message,
        'give exactly one of `env: VARIABLE`, `file: path/to/file` or `command: sops -d …`',
      ),
    );
  }
  return errors;
}
