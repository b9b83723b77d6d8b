// How `{{ secret.NAME }}` reaches a command (see CORE-010): never as its value. In a command line
// it becomes a quoted reference to a variable the transport hands over privately (the child's
// environment locally, the stdin preamble over ssh), so the value is on no command line.

/** The environment variable that carries secret NAME to the command: `NIXFLEET_SECRET_<NAME>`. */
export function secretVariable(name: string): string {
  return `NIXFLEET_SECRET_${name}`;
}

/** What `{{ secret.NAME }}` renders to in `run`, `precheck`, `postcheck` (and any command field). */
export function secretReference(name: string): string {
  return `"$${secretVariable(name)}"`;
}
