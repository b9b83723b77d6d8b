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

export interface PipelineFile {
  readonly description?: string;
  readonly ops: readonly string[];
  readonly hosts?: string | readonly string[];
}
