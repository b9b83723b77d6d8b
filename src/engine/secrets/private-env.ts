// The variables a command gets privately (see CORE-010): `NIXFLEET_SECRET_<NAME>` for each secret
// it uses, and its `env:` entries that use secrets, filled in. Transports hand these over without
// a command line: the child's environment locally, the stdin preamble over ssh.
import { secretVariable } from '../../config/secret-reference.js';
import { MAX_ENV_STRING_BYTES } from '../../domain/environment-limits.js';
import { UserError } from '../../errors/user-error.js';
import type { PlannedStage, RenderedCommand } from '../types.js';

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

/**
 * Refuses, before anything is journaled, a command whose private variable would be longer than
 * Linux lets one environment string be: an `env:` entry that holds a secret twice, or two large
 * ones, passes each value's own limit (secret-resolution.ts) and the plan's measure (which cannot
 * know the values), then failed every command that got it with E2BIG once the run had started.
 */
export function refuseOversizedPrivateEnv(stages: readonly PlannedStage[], secrets: ReadonlyMap<string, string>): void {
  for (const stage of stages) {
    for (const { hostId, rendered } of stage.commands) {
      // Only commands whose secrets were all read: those of the stages a retry runs again.
      // `secrets` names every secret the command uses, its `env:` entries' too (plan.ts).
      if (rendered.secrets === undefined || rendered.secrets.some((name) => !secrets.has(name))) continue;
      for (const [name, value] of Object.entries(privateEnvOf(rendered, secrets, new Set()))) {
        const bytes = Buffer.byteLength(name) + Buffer.byteLength(value) + 2;
        if (bytes <= MAX_ENV_STRING_BYTES) continue;
        throw new UserError(
          `op \`${stage.op.id}\` on \`${hostId}\`: its variable \`${name}\`, with the secrets in it, is ${bytes} bytes; Linux holds one environment variable to ${MAX_ENV_STRING_BYTES} (128 KiB), so its command would fail to start`,
          { hint: 'put each large secret in a variable of its own, or have the command read it from a file' },
        );
      }
    }
  }
}
