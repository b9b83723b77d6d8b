// The fleet file as written (after YAML, before compiling), mirroring schemas/fleet.schema.json.
// test/config/schema-types.test.ts checks that these property names and the schema's agree.

export type Duration = string | number;
export type VarValue = string | number | boolean;

export interface FleetFile {
  readonly $schema?: string;
  readonly version: 1;
  readonly settings?: SettingsFile;
  readonly hosts?: Readonly<Record<string, HostFile | null>>;
  readonly ops?: Readonly<Record<string, OpFile>>;
  readonly pipelines?: Readonly<Record<string, PipelineFile>>;
  readonly secrets?: Readonly<Record<string, SecretFile>>;
  readonly include?: readonly string[];
}

/** A file named by `include:`: hosts, ops and pipelines only. */
export interface IncludedFile {
  readonly $schema?: string;
  readonly version?: 1;
  readonly hosts?: Readonly<Record<string, HostFile | null>>;
  readonly ops?: Readonly<Record<string, OpFile>>;
  readonly pipelines?: Readonly<Record<string, PipelineFile>>;
}

export interface SettingsFile {
  readonly concurrency?: number;
  readonly dataDir?: string;
  readonly shell?: string;
  readonly defaultPipeline?: string;
  readonly ssh?: SshSettingsFile;
}

export interface SshSettingsFile {
  readonly identityFile?: string;
  readonly strictHostKeyChecking?: 'yes' | 'accept-new' | 'no';
  readonly connectTimeout?: Duration;
  readonly multiplex?: boolean;
}

export interface HostFile {
  readonly transport?: 'local' | 'ssh';
  readonly address?: string;
  readonly user?: string;
  readonly port?: number;
  readonly identityFile?: string;
  readonly tags?: readonly string[];
  readonly vars?: Readonly<Record<string, VarValue>>;
}

export interface OpFile {
  readonly description?: string;
  readonly run: string;
  readonly precheck?: string;
  readonly postcheck?: string;
  readonly timeout?: Duration;
  readonly retryable?: boolean;
  readonly retries?: number;
  readonly runsOn?: 'host' | 'controller';
  readonly env?: Readonly<Record<string, VarValue>>;
  readonly cwd?: string;
  readonly rollback?: string | RollbackFile;
}

/** `rollback:` in its long form (see CORE-009). */
export interface RollbackFile {
  readonly run: string;
  readonly timeout?: Duration;
  readonly armed?: Duration;
}

/** Where a secret's value comes from: exactly one of env, file, command (see CORE-010). */
export interface SecretFile {
  readonly description?: string;
  readonly env?: string;
  readonly file?: string;
  readonly command?: string;
}

export interface PipelineFile {
  readonly description?: string;
  readonly ops: readonly string[];
  readonly hosts?: string | readonly string[];
  readonly rollout?: RolloutFile;
}

/** A number of hosts, or a percentage of them (`20%`). */
export type AmountFile = number | string;

export interface RolloutFile {
  readonly strategy?: 'stages' | 'batches';
  readonly batch?: AmountFile;
  readonly canary?: number | string;
  readonly maxFailures?: AmountFile;
  readonly pause?: Duration;
}
