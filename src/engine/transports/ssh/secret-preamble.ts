// How secrets reach an ssh host without being on any command line (see CORE-010): nixfleet
// writes their values on the remote command's standard input as a short preamble, and the remote
// wrapper reads them with shell builtins (`read`, `export`; no process is started, so no argv
// ever holds a value) before it execs the op's command with stdin from /dev/null.
//
// The stdin contract: after the start gate's line (remote-command.ts) the preamble comes first,
// then the channel stays open until the session ends (other users of the channel, such as a
// liveness signal, read after the preamble).
// Preamble format, per variable in the order the reader names them: a line with the number of
// lines of the value, then the value's lines, each ended by `\n`. Values hold no NUL bytes
// (resolution refuses them), so `IFS= read -r` gives each line back byte for byte.

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** What nixfleet writes first on ssh's stdin for these variables. */
export function secretPreamble(variables: Readonly<Record<string, string>>): string {
  let text = '';
  for (const value of Object.values(variables)) {
    const lines = value.split('\n');
    text += `${lines.length}\n${lines.join('\n')}\n`;
  }
  return text;
}

/**
 * Shell text for the remote login shell that reads `secretPreamble(variables)` from stdin into
 * shell variables `nixfleet_s_NAME` (not exported: `secretExports` exports them under their own
 * names after the `cd`, like the op's other variables). A truncated preamble (nixfleet gone)
 * exits 125 at once.
 */
export function preambleReader(variables: Readonly<Record<string, string>>): string {
  const names = Object.keys(variables);
  for (const name of names) {
    // The names are from the fleet file's schema-checked keys; anything else must never reach eval.
    if (!NAME.test(name)) throw new Error(`not a variable name: ${JSON.stringify(name)}`);
  }
  // The lines are printed back, each with its `\n`, inside one command substitution, which the
  // shell collects in a single buffer: linear. Appending line by line (`v="$v$l"`) copies the
  // value so far on every line, quadratic (20,000 lines took 16 s under bash; CORE-010). The `x`
  // keeps the substitution from dropping trailing newlines; it and the last `\n` are cut after.
  // `read` and `printf` are builtins in dash, bash, busybox ash, zsh and ksh93, and the subshell
  // is a fork of the login shell, not a new program: no command line ever holds a value.
  const read = [
    'nixfleet_read() {',
    'IFS= read -r nixfleet_n || exit 125;',
    'nixfleet_v=$(nixfleet_i=0;',
    'while [ "$nixfleet_i" -lt "$nixfleet_n" ]; do',
    'IFS= read -r nixfleet_l || exit 125;',
    'printf \'%s\\n\' "$nixfleet_l"; nixfleet_i=$((nixfleet_i+1));',
    'done; printf x) || exit 125;',
    // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax, not a JS template
    'nixfleet_v=${nixfleet_v%??};',
    'eval "nixfleet_s_$1=\\"\\$nixfleet_v\\""; };',
  ].join(' ');
  const calls = names.map((name) => `nixfleet_read ${name};`).join(' ');
  return `${read} ${calls} unset nixfleet_n nixfleet_v;`;
}

/**
 * `export NAME="$nixfleet_s_NAME" && ` for each variable: after the `cd`, so a secret HOME or
 * CDPATH never moves it. A name the login shell manages itself (`managed`, e.g. RANDOM) is unset
 * first; one it keeps read-only (UID) cannot be set, and the failed export stops the command.
 */
export function secretExports(names: readonly string[], managed: (name: string) => boolean): string {
  return names
    .map((name) => {
      if (!NAME.test(name)) throw new Error(`not a variable name: ${JSON.stringify(name)}`);
      const value = `export ${name}="$nixfleet_s_${name}"`;
      return managed(name) ? `{ unset ${name} 2>/dev/null; ${value}; } &&` : `${value} &&`;
    })
    .join(' ');
}
