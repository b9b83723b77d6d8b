// The variables a command gets privately (see CORE-010): `NIXFLEET_SECRET_<NAME>` for each secret
// it uses, and its `env:` entries that use secrets, filled in. Transports hand these over without
// a command line: the child's environment locally, the stdin preamble over ssh.
import { secretVariable } from '../../config/secret-reference.js';
import type { RenderedCommand } from '../types.js';

// `reserved` are the variables nixfleet sets itself (NIXFLEET_HOST, NIXFLEET_RUN_ID, the process
// tag, ...): they win over an op's `env:` entry of the same name (CORE-005), also one that uses a
// secret, which would otherwise be handed over after them and replace them.
export function privateEnvOf(
  rendered: RenderedCommand,
  secrets: ReadonlyMap<string, string>,
  reserved: ReadonlySet<string>,
): Record<string, string> {
  const secretValue = (name: string): string => {
    const value = secrets.get(name);
    // startRun resolves every secret its commands use before any command starts.
    if (value === undefined) throw new Error(`secret \`${name}\` was not resolved before its command ran`);
    return value;
  };
  const env: Record<string, string> = {};
  for (const name of rendered.secrets ?? []) env[secretVariable(name)] = secretValue(name);
  for (const [key, parts] of Object.entries(rendered.secretEnv ?? {})) {
    if (reserved.has(key)) continue;
    env[key] = parts.map((part) => (typeof part === 'string' ? part : secretValue(part.secret))).join('');
  }
  return env;
}
