// Compiles a checked, merged fleet into the immutable Registry snapshot every layer below config/
// works from (see CORE-005, the registry). Defaults are applied here, once.
import { homedir } from 'node:os';
import { dirname, resolve } from 'node:path';
import type {
  Host,
  Op,
  Pipeline,
  Registry,
  Rollback,
  SecretDeclaration,
  SecretSource,
  Settings,
} from '../registry/types.js';
import { lazyHash } from './content-hash.js';
import { DEFAULTS } from './defaults.js';
import { parseDuration } from './duration.js';
import type { Duration, RollbackFile } from './fleet-file.js';
import type { MergedFleet } from './merged-fleet.js';
import { compileRollout } from './rollout-compile.js';
import { selectorText } from './semantic-checks.js';

export interface CompileOptions {
  /** Overrides settings.dataDir (already absolute, or relative to the working directory). */
  readonly dataDir?: string;
  /** Where the main file's relative paths start (`FleetSources.rootDir`). */
  readonly rootDir: string;
}

export function compileRegistry(
  fleet: MergedFleet,
  includeGlobs: readonly string[],
  options: CompileOptions,
): Registry {
  const file = fleet.main.path;
  const { rootDir } = options;
  const raw = fleet.settings;
  const settings: Settings = {
    concurrency: raw.concurrency ?? DEFAULTS.concurrency,
    dataDir:
      options.dataDir !== undefined ? resolve(options.dataDir) : resolve(rootDir, raw.dataDir ?? DEFAULTS.dataDir),
    shell: raw.shell ?? DEFAULTS.shell,
    ...(raw.defaultPipeline !== undefined ? { defaultPipeline: raw.defaultPipeline } : {}),
    ...(raw.store !== undefined ? { store: raw.store } : {}),
    ssh: {
      ...(raw.ssh?.identityFile !== undefined ? { identityFile: resolvePath(rootDir, raw.ssh.identityFile) } : {}),
      strictHostKeyChecking: raw.ssh?.strictHostKeyChecking ?? DEFAULTS.strictHostKeyChecking,
      connectTimeoutMs: parseDuration(raw.ssh?.connectTimeout) ?? DEFAULTS.connectTimeoutMs,
      multiplex: raw.ssh?.multiplex ?? DEFAULTS.multiplex,
    },
  };
  const hosts = new Map<string, Host>();
  for (const { id, value, source, position } of fleet.hosts.values()) {
    const host: Host = {
      id,
      transport: value.transport ?? 'local',
      address: value.address ?? id,
      ...(value.user !== undefined ? { user: value.user } : {}),
      ...(value.port !== undefined ? { port: value.port } : {}),
      ...(value.identityFile !== undefined
        ? { identityFile: resolvePath(source === fleet.main ? rootDir : dirname(source.path), value.identityFile) }
        : {}),
      tags: Object.freeze([...(value.tags ?? [])]),
      vars: Object.freeze(Object.fromEntries(Object.entries(value.vars ?? {}).map(([k, v]) => [k, String(v)]))),
      source: { file: source.path, ...position },
    };
    hosts.set(id, Object.freeze(host));
  }
  const ops = new Map<string, Op>();
  for (const { id, value, source, position } of fleet.ops.values()) {
    const op: Op = {
      id,
      ...(value.description !== undefined ? { description: value.description } : {}),
      run: value.run,
      ...(value.precheck !== undefined ? { precheck: value.precheck } : {}),
      ...(value.postcheck !== undefined ? { postcheck: value.postcheck } : {}),
      timeoutMs: parseDuration(value.timeout) ?? DEFAULTS.timeoutMs,
      retryable: value.retryable ?? false,
      retries: value.retryable === true ? (value.retries ?? 0) : 0,
      runsOn: value.runsOn ?? 'host',
      env: Object.freeze(Object.fromEntries(Object.entries(value.env ?? {}).map(([k, v]) => [k, String(v)]))),
      ...(value.cwd !== undefined ? { cwd: value.cwd } : {}),
      ...(value.rollback !== undefined ? { rollback: compileRollback(value.rollback, value.timeout) } : {}),
      source: { file: source.path, ...position },
    };
    ops.set(id, Object.freeze(op));
  }
  const pipelines = new Map<string, Pipeline>();
  for (const { id, value, source, position } of fleet.pipelines.values()) {
    const hostsSelector = selectorText(value.hosts);
    const pipeline: Pipeline = {
      id,
      ...(value.description !== undefined ? { description: value.description } : {}),
      ops: Object.freeze([...value.ops]),
      ...(hostsSelector !== undefined ? { hosts: hostsSelector } : {}),
      ...(value.rollout !== undefined ? { rollout: compileRollout(value.rollout) } : {}),
      source: { file: source.path, ...position },
    };
    pipelines.set(id, Object.freeze(pipeline));
  }
  const secrets = new Map<string, SecretDeclaration>();
  for (const { id, value, source, position } of fleet.secrets.values()) {
    // The secret checks made sure exactly one source is given.
    const from: SecretSource =
      value.env !== undefined
        ? { kind: 'env', variable: value.env }
        : value.file !== undefined
          ? { kind: 'file', path: resolvePath(rootDir, value.file) }
          : { kind: 'command', command: value.command ?? '' };
    secrets.set(id, Object.freeze({ name: id, source: from, sourceLocation: { file: source.path, ...position } }));
  }
  const hash = lazyHash(fleet.files.map(({ path, text }) => ({ path, text })));
  return Object.freeze({
    file,
    rootDir,
    files: Object.freeze(fleet.files.map((source) => source.path)),
    includeGlobs: Object.freeze([...includeGlobs]),
    settings: Object.freeze(settings),
    hosts,
    ops,
    pipelines,
    secrets,
    get hash() {
      return hash();
    },
  });
}

/** CORE-009: a rollback's timeout defaults to its op's. */
function compileRollback(rollback: string | RollbackFile, opTimeout: Duration | undefined): Rollback {
  const long = typeof rollback === 'string' ? { run: rollback } : rollback;
  const armedMs = parseDuration(long.armed);
  return Object.freeze({
    run: long.run,
    timeoutMs: parseDuration(long.timeout) ?? parseDuration(opTimeout) ?? DEFAULTS.timeoutMs,
    ...(armedMs !== undefined ? { armedMs } : {}),
  });
}

function resolvePath(baseDir: string, path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return resolve(homedir(), path.slice(2));
  return resolve(baseDir, path);
}
