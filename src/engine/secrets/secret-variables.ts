// The environment variables the fleet's `env:` secrets are read from (see CORE-010). A local
// command inherits them from nixfleet's environment whether its op uses the secret or not, so
// their values are redacted from its output, and from the log of an armed timer left on the host
// (CORE-009). Apart from secret-resolution.ts, which loads execa: the plan measures the timer's
// script (command-size.ts) on every `validate` and `plan`.
import type { Registry } from '../../registry/types.js';

export function secretVariables(registry: Registry): string[] {
  const variables = new Set<string>();
  for (const { source } of registry.secrets.values()) if (source.kind === 'env') variables.add(source.variable);
  return [...variables];
}
