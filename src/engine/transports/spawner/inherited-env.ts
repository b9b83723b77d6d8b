// The environment the spawners hand down to every local command (CORE-001): nixfleet's own, less
// the variables that are for nixfleet alone. `NIXFLEET_DATABASE_URL` names the shared journal with
// its password (CORE-012); a command that prints its environment would put that password into
// output every reader of the journal and the dashboard sees.
const FOR_NIXFLEET_ALONE = ['NIXFLEET_DATABASE_URL'];

export function inheritedEnvironment(): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of FOR_NIXFLEET_ALONE) delete env[name];
  return env;
}
