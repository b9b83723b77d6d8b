// The main file and its includes merged into one set of hosts, ops and pipelines, each entry
// remembering where it was declared. Duplicate ids across files are reported here (see CORE-005).
import type { ConfigError } from '../errors/config-error.js';
import type {
  FleetFile,
  HostFile,
  IncludedFile,
  OpFile,
  PipelineFile,
  SecretFile,
  SettingsFile,
} from './fleet-file.js';
import { keyPositions, type Position, type YamlSource } from './yaml-source.js';

export type Section = 'hosts' | 'ops' | 'pipelines' | 'secrets';

export interface FleetEntry<T> {
  readonly id: string;
  readonly value: T;
  readonly source: YamlSource;
  /** Where the id (the key) is written. */
  readonly position: Position;
}

export interface MergedFleet {
  readonly main: YamlSource;
  readonly files: readonly YamlSource[];
  readonly settings: SettingsFile;
  /** In file order: the main file's entries first, then each included file's. */
  readonly hosts: ReadonlyMap<string, FleetEntry<HostFile>>;
  readonly ops: ReadonlyMap<string, FleetEntry<OpFile>>;
  readonly pipelines: ReadonlyMap<string, FleetEntry<PipelineFile>>;
  /** From the main file only (see CORE-010). */
  readonly secrets: ReadonlyMap<string, FleetEntry<SecretFile>>;
}

const SINGULAR: Record<Section, string> = { hosts: 'host', ops: 'op', pipelines: 'pipeline', secrets: 'secret' };

export function mergeFleet(
  main: YamlSource,
  included: readonly YamlSource[],
): { fleet: MergedFleet; errors: ConfigError[] } {
  const errors: ConfigError[] = [];
  const files = [main, ...included];
  const hosts = new Map<string, FleetEntry<HostFile>>();
  const ops = new Map<string, FleetEntry<OpFile>>();
  const pipelines = new Map<string, FleetEntry<PipelineFile>>();
  for (const source of files) {
    const data = (source.data ?? {}) as FleetFile | IncludedFile;
    addEntries(source, 'hosts', data.hosts, hosts, errors, (value) => value ?? {});
    addEntries(source, 'ops', data.ops, ops, errors, (value) => value);
    addEntries(source, 'pipelines', data.pipelines, pipelines, errors, (value) => value);
  }
  const settings = ((main.data ?? {}) as FleetFile).settings ?? {};
  const secrets = new Map<string, FleetEntry<SecretFile>>();
  addEntries(main, 'secrets', ((main.data ?? {}) as FleetFile).secrets, secrets, errors, (value) => value ?? {});
  return { fleet: { main, files, settings, hosts, ops, pipelines, secrets }, errors };
}

function addEntries<Raw, T>(
  source: YamlSource,
  section: Section,
  values: Readonly<Record<string, Raw>> | undefined,
  into: Map<string, FleetEntry<T>>,
  errors: ConfigError[],
  normalize: (value: Raw) => T,
): void {
  if (!values) return;
  const positions = keyPositions(source, [section]);
  // In the order written: a plain object lists integer-like keys (`10`, `7`) before the others,
  // which would move such hosts ahead of the canary the file put first (CORE-005, CORE-008).
  const ids = new Set([...positions.keys()].filter((id) => Object.hasOwn(values, id)));
  for (const id of Object.keys(values)) ids.add(id);
  for (const id of ids) {
    const value = values[id]!;
    const position = positions.get(id) ?? { line: 1, column: 1 };
    const previous = into.get(id);
    if (previous) {
      errors.push({
        file: source.displayPath,
        ...position,
        path: `${section}.${id}`,
        message: `${SINGULAR[section]} \`${id}\` is already defined at ${previous.source.displayPath}:${previous.position.line}:${previous.position.column}`,
        hint: `ids must be unique across the fleet file and its includes; rename one of them`,
      });
      continue;
    }
    into.set(id, { id, value: normalize(value), source, position });
  }
}
