// The environment every process nixfleet starts begins with (CORE-001): nixfleet's own, less the
// variables that are for nixfleet alone (`src/domain/withheld-variables.ts`). The spawners start
// without them, and so do secret commands (CORE-010), the local lifeline (CORE-011) and every ssh
// client nixfleet starts: sessions, masters and reapers (CORE-007), whose environment a user's
// `SendEnv` sends to the host and whose `ProxyCommand` or `LocalCommand` inherits it.
import { withheldVariables } from '../domain/withheld-variables.js';

export function inheritedEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = { ...env };
  for (const name of withheldVariables()) delete inherited[name];
  return inherited;
}
