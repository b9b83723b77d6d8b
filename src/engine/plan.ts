// Turns a target (pipeline or op) and a selector into stages × hosts with every command rendered
// (see CORE-005, templating, and CORE-002, stages). Pure: it reads the registry and nothing else.
import { isAbsolute, resolve } from 'node:path';
import {
  type ParsedTemplate,
  parseTemplate,
  renderTemplate,
  type SubstitutionMode,
  secretNames,
  varEnvName,
} from '../config/template.js';
import { didYouMean } from '../domain/closest-name.js';
import { controllerOpBetweenHostOps } from '../domain/controller-placement.js';
import { UserError } from '../errors/user-error.js';
import { selectHosts } from '../registry/selector.js';
import { CONTROLLER_HOST_ID, type Host, type Op, type Registry } from '../registry/types.js';
import { refuseOverlongCommands } from './command-size.js';
import { planRollout, type RolloutOverrides, type RolloutPlan } from './rollout/rollout-plan.js';
import type { Plan, PlannedCommand, PlannedStage, PlanOptions, RenderedCommand, SecretEnvPart } from './types.js';

export function buildPlan(
  registry: Registry,
  target: string | undefined,
  selector: string | undefined,
  /** The `apply` flags, or a rollout already settled (`retry` resumes the journaled one). */
  rolloutOverrides?: RolloutOverrides | RolloutPlan,
  /** `rollback: false` for a run with --no-rollback: no rollback is rendered (CORE-009). */
  options: PlanOptions = {},
): Plan {
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
    return { index, op, commands: planStage(registry, op, hosts, pipelineId, options.rollback !== false) };
  });
  // CORE-001, CORE-007: a command too long to be one argument is refused before anything runs.
  refuseOverlongCommands(registry, stages);
  const rollout =
    rolloutOverrides !== undefined && 'waves' in rolloutOverrides
      ? rolloutOverrides
      : planRollout(registry, hostIds, pipeline?.rollout, rolloutOverrides);
  const between = controllerOpBetweenHostOps(stages.map((s) => s.op.runsOn === 'controller'));
  if (rollout.waves.length > 1 && between !== undefined) {
    throw new UserError(
      `controller op \`${stages[between]!.op.id}\` runs once per run, between host ops, so \`${targetId}\` cannot run in batches`,
      { hint: 'leave out --batch and --canary for this target, or move the op first or last in its pipeline' },
    );
  }
  return {
    target: targetId,
    targetKind: pipeline ? 'pipeline' : 'op',
    selector: effectiveSelector ?? '*',
    hosts: hostIds,
    stages,
    registry,
    rollout,
  };
}

function planStage(
  registry: Registry,
  op: Op,
  hosts: readonly Host[],
  pipelineId: string,
  rollbacks: boolean,
): PlannedCommand[] {
  const templates = parseOpTemplates(op, rollbacks);
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

/**
 * With rollbacks off (`--no-rollback`, CORE-009) the rollback is not rendered: the run never sends
 * it, so neither its length, nor a host value or secret only it uses, can stop the run.
 */
function parseOpTemplates(op: Op, rollbacks: boolean): OpTemplates {
  return {
    run: parseTemplate(op.run),
    ...(op.precheck !== undefined ? { precheck: parseTemplate(op.precheck) } : {}),
    ...(op.postcheck !== undefined ? { postcheck: parseTemplate(op.postcheck) } : {}),
    ...(op.rollback !== undefined && rollbacks ? { rollback: parseTemplate(op.rollback.run) } : {}),
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
  // CORE-010: an env value that uses a secret stays as written; the op runner fills it in at exec
  // time and the transport hands it over privately.
  const secretEnv: Record<string, SecretEnvPart[]> = {};
  for (const [key, template] of templates.env) {
    if (secretNames(template).length === 0) {
      env[key] = render(template, 'literal');
      continue;
    }
    const parts: SecretEnvPart[] = [];
    for (const part of template.parts) {
      const piece =
        part.kind === 'text'
          ? part.text
          : part.ref.kind === 'secret'
            ? { secret: part.ref.name }
            : render({ parts: [part], problems: [] }, 'literal');
      const last = parts.at(-1);
      if (typeof piece === 'string' && typeof last === 'string') parts[parts.length - 1] = last + piece;
      else parts.push(piece);
    }
    secretEnv[key] = parts;
  }
  const secrets = secretsUsed(templates);
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
    ...(secrets.length > 0 ? { secrets } : {}),
    ...(Object.keys(secretEnv).length > 0 ? { secretEnv } : {}),
  };
}

/** Every secret any of the op's templates uses, whatever fields the op has (see CORE-010). */
function secretsUsed(templates: OpTemplates): string[] {
  const parsed = Object.values(templates).flatMap((value: ParsedTemplate | OpTemplates['env']) =>
    Array.isArray(value) ? value.map(([, template]) => template) : [value as ParsedTemplate],
  );
  return [...new Set(parsed.flatMap(secretNames))];
}

function firstPipelineExample(registry: Registry): string {
  const first = registry.pipelines.keys().next();
  return first.done ? '' : ` (e.g. \`${first.value}\`)`;
}
