// Compile-time checks of op templates (see CORE-005, templating): every placeholder names a known
// value, controller ops use no host values, and the hosts a pipeline runs on by default define
// the vars and users its ops use, so nothing renders as an empty string at run time.

import { didYouMean } from '../domain/closest-name.js';
import type { ConfigError } from '../errors/config-error.js';
import { resolveSelector } from '../registry/selector.js';
import type { HostFile, OpFile } from './fleet-file.js';
import { errorAtPosition } from './located-error.js';
import type { FleetEntry, MergedFleet } from './merged-fleet.js';
import { type ParsedTemplate, parseTemplate, refName, type TemplateRef } from './template.js';
import { locateInScalar, type PathSegment } from './yaml-source.js';

interface TemplateField {
  readonly path: readonly PathSegment[];
  readonly text: string;
  readonly parsed: ParsedTemplate;
}

/** Every template field of an op, parsed. */
export function templateFields(op: FleetEntry<OpFile>): TemplateField[] {
  const base = ['ops', op.id];
  const fields: { path: PathSegment[]; text: string }[] = [];
  for (const name of ['run', 'precheck', 'postcheck', 'cwd'] as const) {
    const text = op.value[name];
    if (typeof text === 'string') fields.push({ path: [...base, name], text });
  }
  const rollback = op.value.rollback;
  if (typeof rollback === 'string') fields.push({ path: [...base, 'rollback'], text: rollback });
  else if (rollback !== undefined) fields.push({ path: [...base, 'rollback', 'run'], text: rollback.run });
  for (const [key, value] of Object.entries(op.value.env ?? {})) {
    fields.push({ path: [...base, 'env', key], text: String(value) });
  }
  return fields.map((field) => ({ ...field, parsed: parseTemplate(field.text) }));
}

export function checkTemplates(fleet: MergedFleet): ConfigError[] {
  const errors: ConfigError[] = [];
  const knownVars = new Set<string>();
  for (const host of fleet.hosts.values()) for (const key of Object.keys(host.value.vars ?? {})) knownVars.add(key);
  const usesByOp = new Map<string, { field: TemplateField; ref: TemplateRef; offset: number; text: string }[]>();
  for (const op of fleet.ops.values()) {
    const uses: { field: TemplateField; ref: TemplateRef; offset: number; text: string }[] = [];
    for (const field of templateFields(op)) {
      for (const problem of field.parsed.problems) {
        const needle = field.text.slice(problem.offset, problem.offset + problem.length);
        errors.push(at(op, field, needle, problem.offset, problem.message, problem.hint));
      }
      for (const part of field.parsed.parts) {
        if (part.kind !== 'ref') continue;
        if (part.ref.kind === 'secret') {
          const problem = secretUseProblem(fleet, field, part.ref.name);
          if (problem) errors.push(at(op, field, part.text, part.offset, problem.message, problem.hint));
          continue;
        }
        if (!part.ref.kind.startsWith('host.')) continue;
        if (op.value.runsOn === 'controller') {
          errors.push(
            at(
              op,
              field,
              part.text,
              part.offset,
              `\`${refName(part.ref)}\` is not available in op \`${op.id}\`, which runs on the controller`,
              'controller ops run once per stage, not per host; use `runsOn: host` or drop the placeholder',
            ),
          );
          continue;
        }
        if (part.ref.kind === 'host.vars' && !knownVars.has(part.ref.key)) {
          const close = didYouMean(part.ref.key, knownVars);
          errors.push(
            at(
              op,
              field,
              part.text,
              part.offset,
              `unknown template name \`${refName(part.ref)}\`: no host defines \`vars.${part.ref.key}\``,
              close ?? `define \`vars.${part.ref.key}\` on the hosts this op runs on`,
            ),
          );
          continue;
        }
        // host.name and host.address always have a value; only user and vars can be missing.
        if (part.ref.kind === 'host.user' || part.ref.kind === 'host.vars') {
          uses.push({ field, ref: part.ref, offset: part.offset, text: part.text });
        }
      }
    }
    usesByOp.set(op.id, uses);
  }
  errors.push(...checkPipelineHosts(fleet, usesByOp));
  return errors;
}

/** CORE-010: a secret must be declared, and cannot be a working directory (it would be on a command line). */
function secretUseProblem(
  fleet: MergedFleet,
  field: TemplateField,
  name: string,
): { message: string; hint: string } | undefined {
  if (field.path.at(-1) === 'cwd') {
    return {
      message: `\`secret.${name}\` cannot be used in \`cwd\``,
      hint: 'secrets are handed to commands privately; use them in `run`, the checks or `env`',
    };
  }
  if (fleet.secrets.has(name)) return undefined;
  const declared = [...fleet.secrets.keys()];
  return {
    message: `unknown secret \`${name}\``,
    hint:
      didYouMean(name, declared) ??
      (declared.length > 0
        ? `declared secrets: ${declared.join(', ')}`
        : `declare it under \`secrets:\` in the main fleet file, e.g. \`${name}: { env: ${name.toUpperCase()} }\``),
  };
}

function checkPipelineHosts(
  fleet: MergedFleet,
  usesByOp: ReadonlyMap<string, { field: TemplateField; ref: TemplateRef; offset: number; text: string }[]>,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const hosts = [...fleet.hosts.values()];
  const reported = new Set<string>();
  for (const pipeline of fleet.pipelines.values()) {
    const selected = selectedHosts(fleet, pipeline.value.hosts, hosts);
    if (!selected) continue;
    for (const opId of pipeline.value.ops) {
      const op = fleet.ops.get(opId);
      for (const use of usesByOp.get(opId) ?? []) {
        const name = refName(use.ref);
        const lacking = selected.filter((host) => !defines(host.value, use.ref)).map((host) => host.id);
        const key = `${pipeline.id}\0${opId}\0${name}`;
        if (!op || lacking.length === 0 || reported.has(key)) continue;
        reported.add(key);
        const who = lacking.length === 1 ? `host \`${lacking[0]}\`` : `hosts ${listIds(lacking)}`;
        const field = use.ref.kind === 'host.vars' ? `vars.${use.ref.key}` : 'user';
        errors.push(
          at(
            op,
            use.field,
            use.text,
            use.offset,
            `\`${name}\` is not defined for ${who}, which pipeline \`${pipeline.id}\` runs op \`${opId}\` on`,
            `define \`${field}\` on ${lacking.length === 1 ? 'that host' : 'those hosts'}, or narrow \`pipelines.${pipeline.id}.hosts\``,
          ),
        );
      }
    }
  }
  return errors;
}

function selectedHosts(
  fleet: MergedFleet,
  selector: string | readonly string[] | undefined,
  hosts: readonly FleetEntry<HostFile>[],
): FleetEntry<HostFile>[] | undefined {
  if (selector === undefined) return [...hosts];
  const text = typeof selector === 'string' ? selector : selector.join(',');
  const result = resolveSelector(
    hosts.map((host) => ({ id: host.id, tags: host.value.tags ?? [] })),
    text,
  );
  // A broken selector is reported by the pipeline checks; nothing more to say here.
  if (!result.ok) return undefined;
  return result.hosts.map((id) => fleet.hosts.get(id)).filter((host) => host !== undefined);
}

/** Whether a host has a value for a host-dependent placeholder. */
export function defines(host: HostFile, ref: TemplateRef): boolean {
  if (ref.kind === 'host.user') return host.user !== undefined;
  if (ref.kind === 'host.vars') return host.vars?.[ref.key] !== undefined;
  return true;
}

function listIds(ids: readonly string[]): string {
  const shown = ids.slice(0, 3).map((id) => `\`${id}\``);
  return ids.length > 3 ? `${shown.join(', ')} and ${ids.length - 3} more` : shown.join(', ');
}

export function at(
  op: FleetEntry<OpFile>,
  field: TemplateField,
  needle: string,
  offset: number,
  message: string,
  hint?: string,
): ConfigError {
  // The same placeholder may appear more than once; find the one this offset refers to.
  let occurrence = 0;
  for (let i = field.text.indexOf(needle); i !== -1 && i < offset; i = field.text.indexOf(needle, i + 1)) occurrence++;
  const position = locateInScalar(op.source, field.path, needle, occurrence);
  return errorAtPosition(op.source, position, field.path, message, hint);
}
