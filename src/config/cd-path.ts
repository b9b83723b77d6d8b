// `cd` paths for the command lines nixfleet writes (see CORE-005, CORE-007); the quoting itself
// is src/domain/shell-quote.ts.
import { shellQuote } from '../domain/shell-quote.js';

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
