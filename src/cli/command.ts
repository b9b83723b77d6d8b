// What every `nixfleet <command>` module exports, and the context it runs in.
// Commands return their exit code; only cli/ decides codes and how errors are printed.
import type { ParseArgsConfig } from 'node:util';

export type OptionSpecs = NonNullable<ParseArgsConfig['options']>;

export interface CliIO {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
}

export interface GlobalOptions {
  /** -f/--file as given, else undefined (then $NIXFLEET_FILE, then ./fleet.yaml). */
  readonly file?: string;
  /** --data-dir as given, else undefined (then $NIXFLEET_DATA_DIR, then settings.dataDir). */
  readonly dataDir?: string;
  /** --store as given, else undefined (then $NIXFLEET_DATABASE_URL, then settings.store; see CORE-012). */
  readonly store?: string;
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
  readonly options: OptionSpecs;
  /** Most positionals accepted. */
  readonly maxPositionals: number;
  run(ctx: CommandContext): Promise<number>;
}
