// POSIX shell quoting for values substituted into `run`, `precheck` and `postcheck` (see CORE-005,
// templating): a value can never end a command, start another or expand a variable.

// Words made only of these characters mean the same to sh quoted or not, so they stay readable.
// `=` is not among them: `NAME=value` written bare as a command's first word is an assignment, so
// a value such as `PATH=/tmp/evil` in `{{ host.vars.tool }} --version` would change the command.
const SAFE_WORD = /^[A-Za-z0-9_@%+:,./-]+$/;

export function shellQuote(value: string): string {
  if (value !== '' && SAFE_WORD.test(value)) return value;
  // Inside single quotes nothing is special except the quote itself: close, escape it, reopen.
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A directory for `cd`, as the ssh transport's remote line writes it and `plan` shows it
 * (CORE-007, CORE-005). A leading `~` stays unquoted so the remote shell expands it to the remote
 * user's home. A path that starts with `-` gets `./` in front: `cd` would read it as an option
 * (`cd -P` goes home, `cd -` to $OLDPWD), while it names a directory, as it does locally. Local
 * directories are absolute by then, so quoting is all this does to them.
 */
export function cdPath(path: string): string {
  if (path === '~') return '~';
  if (path.startsWith('~/')) return path.length === 2 ? '~/' : `~/${shellQuote(path.slice(2))}`;
  return shellQuote(path.startsWith('-') ? `./${path}` : path);
}
