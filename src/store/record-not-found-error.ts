// Thrown when a journal call names a run or command that does not exist (or was pruned).
// The CLI turns it into a user error (exit 2) naming the id.
export class RecordNotFoundError extends Error {
  readonly kind: 'run' | 'command';
  readonly id: string;
  constructor(kind: 'run' | 'command', id: string) {
    super(`no ${kind} with id ${id} in the journal (it may have been pruned by retention)`);
    this.name = 'RecordNotFoundError';
    this.kind = kind;
    this.id = id;
  }
}
