// Thrown by openJournal when the PostgreSQL journal cannot be opened (the server is unreachable,
// refuses the login, or the database does not exist), and by any journal call whose connection
// the server dropped (see CORE-012). The CLI prints it naming the URL without its password: exit 2
// when opening (nothing ran), exit 1 in use (the work under way stopped), as for a JournalError.
export class StoreUnavailableError extends Error {
  /** The store URL without its password. */
  readonly where: string;
  readonly when: 'opening' | 'in use';
  constructor(where: string, reason: string, when: 'opening' | 'in use' = 'opening') {
    super(
      when === 'opening'
        ? `cannot open the PostgreSQL journal at ${where}: ${reason}`
        : `lost the connection to the PostgreSQL journal at ${where}: ${reason}`,
    );
    this.name = 'StoreUnavailableError';
    this.where = where;
    this.when = when;
  }
}
