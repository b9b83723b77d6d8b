// The environment every process nixfleet starts begins with (CORE-001): nixfleet's own, less the
// variables that are for nixfleet alone. `NIXFLEET_DATABASE_URL` names the shared journal with its
// password (CORE-012); a command that prints its environment would put that password into output
// every reader of the journal and the dashboard sees. `NIXFLEET_TOKEN` is the dashboard's token
// (CORE-004), which lets whoever holds it start and kill runs: printed by a command, it reached
// every reader of the output and of `nixfleet logs`. The spawners start without them, and so do
// secret commands (CORE-010), the local lifeline (CORE-011) and every ssh client nixfleet starts:
// sessions, masters and reapers (CORE-007), whose environment a user's `SendEnv` sends to the host
// and whose `ProxyCommand` or `LocalCommand` inherits it.
const FOR_NIXFLEET_ALONE = ['NIXFLEET_DATABASE_URL', 'NIXFLEET_TOKEN'];

export function inheritedEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = { ...env };
  for (const name of FOR_NIXFLEET_ALONE) delete inherited[name];
  return inherited;
}
