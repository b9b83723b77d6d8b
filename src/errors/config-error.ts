// Errors are values with positions (specs/README.md, decision 7). The CLI prints them as
// `file:line:col: path: message` and exits 2; nothing below cli/ decides how they look.

export interface ConfigError {
  /** Path as given to the user (relative to the working directory where possible). */
  readonly file: string;
  /** 1-based; 0 when the problem has no position in a file (e.g. the file is missing). */
  readonly line: number;
  readonly column: number;
  /** Dotted path of the value in the fleet file, e.g. `ops.pull.timeout`; '' for the whole file. */
  readonly path: string;
  readonly message: string;
  /** A suggested fix, e.g. "did you mean `switch`?". */
  readonly hint?: string;
}

/** Thrown by loaders when a fleet cannot be compiled; carries every error found, in file order. */
export class ConfigErrors extends Error {
  readonly errors: readonly ConfigError[];
  constructor(errors: readonly ConfigError[]) {
    super(errors.map(formatConfigError).join('\n'));
    this.name = 'ConfigErrors';
    this.errors = errors;
  }
}

export function formatConfigError(e: ConfigError): string {
  const where = e.line > 0 ? `${e.file}:${e.line}:${e.column}` : e.file;
  const path = e.path ? `${e.path}: ` : '';
  const hint = e.hint ? ` (${e.hint})` : '';
  return `${where}: ${path}${e.message}${hint}`;
}
