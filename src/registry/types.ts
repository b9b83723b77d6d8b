// The compiled fleet: what every layer below config/ works from (see CORE-005).
// A Registry is an immutable snapshot; a reload builds a new one and swaps the pointer.

/** Where a value came from in the fleet file (1-based line and column). */
export interface SourceLocation {
  readonly file: string;
  readonly line: number;
  readonly column: number;
}

export type TransportKind = 'local' | 'ssh';
export type StrictHostKeyChecking = 'yes' | 'accept-new' | 'no';
export type RunsOn = 'host' | 'controller';

export interface SshSettings {
  readonly identityFile?: string;
  readonly strictHostKeyChecking: StrictHostKeyChecking;
  readonly connectTimeoutMs: number;
  readonly multiplex: boolean;
}

export interface Settings {
  readonly concurrency: number;
  /** Absolute path: settings.dataDir resolved against the fleet file's directory. */
  readonly dataDir: string;
  readonly shell: string;
  readonly defaultPipeline?: string;
  /** settings.store as written (a PostgreSQL URL, maybe with a password; see CORE-012). */
  readonly store?: string;
  readonly ssh: SshSettings;
}

export interface Host {
  readonly id: string;
  readonly transport: TransportKind;
  /** ssh: the address to connect to (defaults to the id); local: the id. */
  readonly address: string;
  readonly user?: string;
  readonly port?: number;
  /** Absolute path, resolved against the file that declared the host. */
  readonly identityFile?: string;
  readonly tags: readonly string[];
  readonly vars: Readonly<Record<string, string>>;
  readonly source: SourceLocation;
}

/**
 * A command line with `{{ ... }}` placeholders, kept as written; the engine renders it per host
 * (see CORE-005, templating). Every placeholder was checked when the registry was compiled.
 */
export type Template = string;

export interface Op {
  readonly id: string;
  readonly description?: string;
  readonly run: Template;
  readonly precheck?: Template;
  readonly postcheck?: Template;
  readonly timeoutMs: number;
  readonly retryable: boolean;
  /** Automatic extra attempts after a failure; 0 unless the op is retryable. */
  readonly retries: number;
  readonly runsOn: RunsOn;
  readonly env: Readonly<Record<string, Template>>;
  readonly cwd?: Template;
  /** Runs where the op failed (see CORE-009). */
  readonly rollback?: Rollback;
  readonly source: SourceLocation;
}

/** An op's `rollback:` (see CORE-009). */
export interface Rollback {
  readonly run: Template;
  readonly timeoutMs: number;
  /** With a delay, a timer left on the host runs the rollback unless nixfleet disarms it. */
  readonly armedMs?: number;
}

export interface Pipeline {
  readonly id: string;
  readonly description?: string;
  /** Op ids, in stage order. */
  readonly ops: readonly string[];
  /** Default selector when `--on` is not given; undefined means every host. */
  readonly hosts?: string;
  readonly rollout?: Rollout;
  readonly source: SourceLocation;
}

/** Where a secret's value comes from; read on the controller only when a run needs it (see CORE-010). */
export type SecretSource =
  | { readonly kind: 'env'; readonly variable: string }
  /** Absolute path, resolved against the fleet file's directory. */
  | { readonly kind: 'file'; readonly path: string }
  | { readonly kind: 'command'; readonly command: string };

export interface SecretDeclaration {
  readonly name: string;
  readonly source: SecretSource;
  readonly sourceLocation: SourceLocation;
}

/** A number of hosts, or a percentage of some set of hosts (see CORE-008). */
export type HostAmount = { readonly count: number } | { readonly percent: number };

/** A pipeline's `rollout:` block as compiled (see CORE-008); the engine resolves it per run. */
export interface Rollout {
  readonly strategy: 'stages' | 'batches';
  readonly batch?: HostAmount;
  readonly canary?: { readonly count: number } | { readonly selector: string };
  readonly maxFailures?: HostAmount;
  readonly pauseMs: number;
}

export interface Registry {
  /** Absolute path of the main fleet file. */
  readonly file: string;
  /** Directory of the main fleet file: local commands run here unless an op sets `cwd`. */
  readonly rootDir: string;
  /** Every file that was read to build this snapshot (the main file first, then includes). */
  readonly files: readonly string[];
  /** The include globs, absolute, so a watcher can notice new files that start matching. */
  readonly includeGlobs: readonly string[];
  /** sha256 (hex) of the files' contents; runs journal it. */
  readonly hash: string;
  readonly settings: Settings;
  readonly hosts: ReadonlyMap<string, Host>;
  readonly ops: ReadonlyMap<string, Op>;
  readonly pipelines: ReadonlyMap<string, Pipeline>;
  /** Declared secrets by name: where each value comes from, never the value. */
  readonly secrets: ReadonlyMap<string, SecretDeclaration>;
}

/** What the dashboard and the journal keep of a registry (no templates' host data, no positions). */
export interface RegistrySummary {
  readonly file: string;
  readonly hash: string;
  readonly hosts: readonly { id: string; transport: TransportKind; address: string; tags: readonly string[] }[];
  readonly ops: readonly { id: string; description?: string; runsOn: RunsOn; retryable: boolean }[];
  readonly pipelines: readonly { id: string; description?: string; ops: readonly string[]; hosts?: string }[];
  readonly defaultPipeline?: string;
}

/** What a reload changed, by id (see CORE-006). */
export interface RegistryDiff {
  readonly hosts: IdDiff;
  readonly ops: IdDiff;
  readonly pipelines: IdDiff;
}
export interface IdDiff {
  readonly added: readonly string[];
  readonly removed: readonly string[];
  readonly modified: readonly string[];
}

/** The host a `runsOn: controller` op is journaled under. Not a valid host id, so it never collides. */
export const CONTROLLER_HOST_ID = '@controller';
