// The variables of nixfleet's own environment that no process it starts inherits (CORE-001):
// credentials that are nixfleet's, not the commands'. `NIXFLEET_DATABASE_URL` names the shared
// journal with its password (CORE-012); `NIXFLEET_TOKEN` lets whoever holds it start and kill runs
// from the dashboard (CORE-004). A command that printed its environment put them into output that
// every reader of the journal sees. `PGPASSWORD` joins them once a PostgreSQL journal logged in
// with it (the server asked for a password, and the URL had none of its own), as it is then the
// same credential (CORE-012).
const withheld = new Set(['NIXFLEET_DATABASE_URL', 'NIXFLEET_TOKEN']);

/** From now on, `name` is kept from every process nixfleet starts. */
export function withholdFromCommands(name: string): void {
  withheld.add(name);
}

export function withheldVariables(): ReadonlySet<string> {
  return withheld;
}
