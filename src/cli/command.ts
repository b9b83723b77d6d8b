// What every `nixfleet <command>` module exports, and the context it runs in.
// Commands return their exit code; only cli/ decides codes and how errors are printed.
import type { GlobalFlags } from '../domain/nixfleet-command.js';
import type { OutputStream } from '../domain/output-stream.js';

/**
 * A node:util parseArgs option plus what `--help` prints for it (see CORE-002, the command line):
 * `description` is one short line; `valueName` names a string option's value (default VALUE).
 */
export interface OptionSpec {
  readonly type: 'string' | 'boolean';
  readonly short?: string;
  readonly multiple?: boolean;
  readonly default?: string | boolean | string[] | boolean[];
  readonly description: string;
  readonly valueName?: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

export interface CliIO {
  readonly stdout: OutputStream;
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

/** The global flags: -f, --data-dir and --store as given (else undefined), then output's. */
export interface GlobalOptions extends GlobalFlags {
  readonly json: boolean;
  readonly color: boolean;
}

export interface CommandContext {
  readonly io: CliIO;
  readonly global: GlobalOptions;
  readonly positionals: readonly string[];
  readonly values: Readonly<Record<string, string | boolean | string[] | boolean[] | undefined>>;
}

export interface CommandModule {
  /** One line, e.g. `apply [TARGET] [--on SEL] [--concurrency N]`. */
  readonly usage: string;
  /** Lines of help between the usage and the options (arguments, examples); optional. */
  readonly details?: readonly string[];
  readonly options: OptionSpecs;
  /**
   * With --json, stdout is a stream of JSON lines, each one object with a `type` (`watch`): an
   * error that ends the command once a line was written is one more line there, `type: "error"`
   * (CORE-002, CORE-006).
   */
  readonly jsonLines?: boolean;
  /** Most positionals accepted. */
  readonly maxPositionals: number;
  run(ctx: CommandContext): Promise<number>;
}
