// Thrown by openJournal when the PostgreSQL journal cannot be opened (the server is unreachable,
// refuses the login, or the database does not exist), and by any journal call whose connection
// the server dropped (see CORE-012). The CLI turns it into a user
// error (exit 2) naming the URL without its password.
export class StoreUnavailableError extends Error {
  /** The store URL without its password. */
  readonly where: string;
  constructor(where: string, reason: string, when: 'opening' | 'in use' = 'opening') {
    super(
      when === 'opening'
        ? `cannot open the PostgreSQL journal at ${where}: ${reason}`
        : `lost the connection to the PostgreSQL journal at ${where}: ${reason}`,
    );
    this.name = 'StoreUnavailableError';
    this.where = where;
  }
}
