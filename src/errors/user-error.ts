// A mistake the user can fix (bad flag, unknown run id, selector matching nothing, busy hosts).
// Carries its exit code (CORE-002); the CLI prints the message (and hint) without a stack.

export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  BLOCKED: 3,
  /** A rollback did not succeed: a host needs a person (see CORE-009). */
  ROLLBACK_FAILED: 4,
  CANCELLED: 130,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class UserError extends Error {
  readonly exitCode: ExitCode;
  readonly hint?: string;
  constructor(message: string, options: { exitCode?: ExitCode; hint?: string } = {}) {
    super(message);
    this.name = 'UserError';
    this.exitCode = options.exitCode ?? EXIT.USAGE;
    if (options.hint !== undefined) this.hint = options.hint;
  }
}
