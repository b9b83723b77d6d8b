// CORE-005: the JSON Schema and the TypeScript types of the fleet file must not drift. Each list
// below is typed so that tsc fails when it misses or invents a property of the interface; the
// test then fails when the schema's properties differ from the list.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type {
  FleetFile,
  HostFile,
  IncludedFile,
  OpFile,
  PipelineFile,
  RollbackFile,
  RolloutFile,
  SecretFile,
  SettingsFile,
  SshSettingsFile,
} from '../../src/config/fleet-file.js';
import { SCHEMA_PATH } from '../../src/config/schema.js';

type Keys<T> = { readonly [K in keyof Required<T>]: true };
const keys = <T>(record: Keys<T>) => Object.keys(record).sort();

const TYPES = {
  root: keys<FleetFile>({
    $schema: true,
    version: true,
    settings: true,
    hosts: true,
    ops: true,
    pipelines: true,
    secrets: true,
    include: true,
  }),
  includedFile: keys<IncludedFile>({ $schema: true, version: true, hosts: true, ops: true, pipelines: true }),
  settings: keys<SettingsFile>({ concurrency: true, dataDir: true, shell: true, defaultPipeline: true, ssh: true }),
  ssh: keys<SshSettingsFile>({
    identityFile: true,
    strictHostKeyChecking: true,
    connectTimeout: true,
    multiplex: true,
  }),
  host: keys<HostFile>({
    transport: true,
    address: true,
    user: true,
    port: true,
    identityFile: true,
    tags: true,
    vars: true,
  }),
  op: keys<OpFile>({
    description: true,
    run: true,
    precheck: true,
    postcheck: true,
    timeout: true,
    retryable: true,
    retries: true,
    runsOn: true,
    env: true,
    cwd: true,
    rollback: true,
  }),
  secret: keys<SecretFile>({ description: true, env: true, file: true, command: true }),
  pipeline: keys<PipelineFile>({ description: true, ops: true, hosts: true, rollout: true }),
  rollout: keys<RolloutFile>({ strategy: true, batch: true, canary: true, maxFailures: true, pause: true }),
  rollback: keys<RollbackFile>({ run: true, timeout: true, armed: true }),
};

interface SchemaNode {
  title?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  required?: string[];
  additionalProperties?: boolean | SchemaNode;
  [key: string]: unknown;
}
const schema = JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as SchemaNode & { $defs: Record<string, SchemaNode> };
const defs = schema.$defs;
const schemaObjects: Record<keyof typeof TYPES, SchemaNode> = {
  root: schema,
  includedFile: defs.includedFile!,
  settings: defs.settings!,
  ssh: defs.settings!.properties!.ssh!,
  host: defs.host!,
  op: defs.op!,
  rollback: defs.op!.properties!.rollback!,
  pipeline: defs.pipeline!,
  secret: defs.secret!,
  rollout: defs.rollout!,
};

describe('schemas/fleet.schema.json and src/config/fleet-file.ts agree', () => {
  it.each(Object.keys(TYPES) as (keyof typeof TYPES)[])('%s has the same properties in both', (name) => {
    expect(Object.keys(schemaObjects[name].properties ?? {}).sort()).toEqual(TYPES[name]);
  });

  it('required properties match the non-optional ones of the types', () => {
    expect(schema.required).toEqual(['version']);
    expect(defs.op!.required).toEqual(['run']);
    expect(defs.pipeline!.required).toEqual(['ops']);
  });

  it('every object rejects unknown properties, so a typo never passes silently', () => {
    for (const node of Object.values(schemaObjects)) expect(node.additionalProperties).toBe(false);
  });

  it('every property and definition has a title and a description for editors', () => {
    const missing: string[] = [];
    const visit = (node: unknown, where: string) => {
      if (typeof node !== 'object' || node === null) return;
      const n = node as SchemaNode;
      for (const [key, child] of Object.entries(n.properties ?? {})) {
        if (!child.title || !child.description) missing.push(`${where}.${key}`);
        visit(child, `${where}.${key}`);
      }
      for (const key of ['items', 'additionalProperties', 'propertyNames'] as const) {
        const child = n[key];
        if (typeof child === 'object' && child !== null && !('$ref' in child)) {
          if (!(child as SchemaNode).title || !(child as SchemaNode).description) missing.push(`${where}.${key}`);
          visit(child, `${where}.${key}`);
        }
      }
    };
    visit(schema, '#');
    for (const [name, def] of Object.entries(defs)) {
      if (!def.title || !def.description) missing.push(`$defs.${name}`);
      visit(def, `$defs.${name}`);
    }
    expect(missing).toEqual([]);
    expect(schema.$id).toMatch(/^https:\/\//);
  });
});
