// The environment every command on this machine starts from (CORE-001): nixfleet's own, less the
// variables that are for nixfleet alone. `NIXFLEET_DATABASE_URL` names the shared journal with its
// password (CORE-012); a command that prints its environment would put that password into output
// every reader of the journal and the dashboard sees. The spawners start with it, and so do
// secret commands (CORE-010).
const FOR_NIXFLEET_ALONE = ['NIXFLEET_DATABASE_URL'];

export function inheritedEnvironment(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = { ...env };
  for (const name of FOR_NIXFLEET_ALONE) delete inherited[name];
  return inherited;
}
