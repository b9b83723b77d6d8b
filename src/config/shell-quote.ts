// POSIX shell quoting for values substituted into `run`, `precheck` and `postcheck` (see CORE-005,
// templating): a value can never end a command, start another or expand a variable.

// Words made only of these characters mean the same to sh quoted or not, so they stay readable.
const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

export function shellQuote(value: string): string {
  if (value !== '' && SAFE_WORD.test(value)) return value;
  // Inside single quotes nothing is special except the quote itself: close, escape it, reopen.
  return `'${value.replaceAll("'", `'\\''`)}'`;
}
