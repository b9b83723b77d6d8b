// Turns a target (pipeline or op) and a selector into stages × hosts with every command rendered
// (see CORE-005, templating, and CORE-002, stages). Pure: it reads the registry and nothing else.
import { isAbsolute, resolve } from 'node:path';
import { type ParsedTemplate, parseTemplate, renderTemplate, type SubstitutionMode } from '../config/template.js';
import { didYouMean } from '../domain/closest-name.js';
import { UserError } from '../errors/user-error.js';
import { selectHosts } from '../registry/selector.js';
import { CONTROLLER_HOST_ID, type Host, type Op, type Registry } from '../registry/types.js';
import type { Plan, PlannedCommand, PlannedStage, RenderedCommand } from './types.js';

export function buildPlan(registry: Registry, target: string | undefined, selector: string | undefined): Plan {
  const targetId = target ?? registry.settings.defaultPipeline;
  if (targetId === undefined) {
    throw new UserError('no target given and the fleet file sets no `settings.defaultPipeline`', {
      hint: `name a pipeline or op${firstPipelineExample(registry)}, or set \`settings.defaultPipeline\``,
    });
  }
  const pipeline = registry.pipelines.get(targetId);
  const singleOp = pipeline ? undefined : registry.ops.get(targetId);
  if (!pipeline && !singleOp) {
    const hint = didYouMean(targetId, [...registry.pipelines.keys(), ...registry.ops.keys()]);
    throw new UserError(`unknown pipeline or op \`${targetId}\``, {
      hint: hint ?? 'run `nixfleet list` to see the pipelines and ops',
    });
  }
  const effectiveSelector = selector ?? pipeline?.hosts;
  const hostIds = selectHosts(registry, effectiveSelector);
  const hosts = hostIds.map((id) => registry.hosts.get(id)).filter((host): host is Host => host !== undefined);
  const opIds = pipeline ? pipeline.ops : [targetId];
  // CORE-005: a single applied op is its own pipeline, so `{{ pipeline.id }}` is the op id.
  const pipelineId = targetId;
  const stages: PlannedStage[] = opIds.map((opId, index) => {
    const op = registry.ops.get(opId);
    if (!op) throw new Error(`registry invariant broken: pipeline \`${targetId}\` names unknown op \`${opId}\``);
    return { index, op, commands: planStage(registry, op, hosts, pipelineId) };
  });
  return {
    target: targetId,
    targetKind: pipeline ? 'pipeline' : 'op',
    selector: effectiveSelector ?? '*',
    hosts: hostIds,
    stages,
    registry,
  };
}

function planStage(registry: Registry, op: Op, hosts: readonly Host[], pipelineId: string): PlannedCommand[] {
  const templates = parseOpTemplates(op);
  if (op.runsOn === 'controller') {
    const rendered = renderCommand(registry, op, templates, undefined, pipelineId);
    const env = { ...rendered.env, NIXFLEET_HOSTS: hosts.map((host) => host.id).join(',') };
    return [{ hostId: CONTROLLER_HOST_ID, rendered: { ...rendered, env } }];
  }
  return hosts.map((host) => ({ hostId: host.id, rendered: renderCommand(registry, op, templates, host, pipelineId) }));
}

interface OpTemplates {
  readonly run: ParsedTemplate;
  readonly precheck?: ParsedTemplate;
  readonly postcheck?: ParsedTemplate;
  readonly rollback?: ParsedTemplate;
  readonly cwd?: ParsedTemplate;
  readonly env: readonly (readonly [string, ParsedTemplate])[];
}

function parseOpTemplates(op: Op): OpTemplates {
  return {
    run: parseTemplate(op.run),
    ...(op.precheck !== undefined ? { precheck: parseTemplate(op.precheck) } : {}),
    ...(op.postcheck !== undefined ? { postcheck: parseTemplate(op.postcheck) } : {}),
    ...(op.rollback !== undefined ? { rollback: parseTemplate(op.rollback.run) } : {}),
    ...(op.cwd !== undefined ? { cwd: parseTemplate(op.cwd) } : {}),
    env: Object.entries(op.env).map(([key, value]) => [key, parseTemplate(value)] as const),
  };
}

function renderCommand(
  registry: Registry,
  op: Op,
  templates: OpTemplates,
  host: Host | undefined,
  pipelineId: string,
): RenderedCommand {
  const values = { opId: op.id, pipelineId, ...(host ? { host } : {}) };
  const render = (template: ParsedTemplate, mode: SubstitutionMode): string => {
    const result = renderTemplate(template, values, mode);
    if (result.ok) return result.value;
    throw new UserError(
      `op \`${op.id}\` uses \`${result.missing}\`, which host \`${host?.id ?? '?'}\` does not define`,
      {
        hint: `define it on \`${host?.id ?? '?'}\` in the fleet file, or leave the host out with \`--on\``,
      },
    );
  };
  const env: Record<string, string> = {};
  for (const [key, template] of templates.env) env[key] = render(template, 'literal');
  // CORE-005: the NIXFLEET_* variables are nixfleet's and win over an op's env of the same name.
  if (host) env.NIXFLEET_HOST = host.id;
  env.NIXFLEET_OP = op.id;
  env.NIXFLEET_PIPELINE = pipelineId;
  for (const [key, value] of Object.entries(host?.vars ?? {})) env[varEnvName(key)] = value;
  const cwd = templates.cwd ? render(templates.cwd, 'literal') : undefined;
  const runsLocally = !host || host.transport === 'local';
  return {
    run: render(templates.run, 'shell'),
    ...(templates.precheck ? { precheck: render(templates.precheck, 'shell') } : {}),
    ...(templates.postcheck ? { postcheck: render(templates.postcheck, 'shell') } : {}),
    ...(templates.rollback ? { rollback: render(templates.rollback, 'shell') } : {}),
    // Local commands resolve a relative cwd against the fleet file's directory; on an ssh host it
    // stays relative to the login directory.
    ...(cwd !== undefined ? { cwd: runsLocally && !isAbsolute(cwd) ? resolve(registry.rootDir, cwd) : cwd } : {}),
    env,
  };
}

/** `NIXFLEET_VAR_<KEY>`: the key upper-cased, `-` as `_` (CONTRACT.md §1). */
export function varEnvName(key: string): string {
  return `NIXFLEET_VAR_${key.toUpperCase().replaceAll('-', '_')}`;
}

function firstPipelineExample(registry: Registry): string {
  const first = registry.pipelines.keys().next();
  return first.done ? '' : ` (e.g. \`${first.value}\`)`;
}
