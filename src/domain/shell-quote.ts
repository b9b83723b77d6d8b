// POSIX shell quoting: a value written into a command line (see CORE-005, templating; and the
// commands hints suggest, CORE-002) can never end the command, start another or expand a variable.

// Words made only of these characters mean the same to sh quoted or not, so they stay readable.
// `=` is not among them: `NAME=value` written bare as a command's first word is an assignment, so
// a value such as `PATH=/tmp/evil` in `{{ host.vars.tool }} --version` would change the command.
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

export function shellQuote(value: string): string {
  if (value !== '' && SAFE_WORD.test(value)) return value;
  // Inside single quotes nothing is special except the quote itself: close, escape it, reopen.
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
