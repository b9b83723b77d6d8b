// `nixfleet plan [TARGET] [--on SEL]`: stages × hosts with the rendered commands; runs nothing.
import { formatDuration } from '../../config/duration.js';
import { type ControllerPlacement, controllerPlacement } from '../../domain/controller-placement.js';
import { buildPlan } from '../../engine/plan.js';
import type { Plan, PlannedCommand, PlannedStage } from '../../engine/types.js';
import { EXIT } from '../../errors/user-error.js';
import type { Rollback } from '../../registry/types.js';
import type { CommandContext } from '../command.js';
import { loadFleet } from '../load-fleet.js';
import { parseRolloutFlags, ROLLOUT_OPTIONS } from '../rollout-flags.js';
import { rolloutLines } from '../rollout-text.js';

export const usage = 'plan [TARGET] [--on SEL] [--batch N|N%] [--canary SEL|N] [--max-failures N|N%]';
export const options = {
  on: { type: 'string', valueName: 'SEL', description: 'only these hosts: web1,db1  @tag  web*  !web3' },
  ...ROLLOUT_OPTIONS,
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const rollout = parseRolloutFlags(ctx);
  const registry = await loadFleet(ctx);
  const on = ctx.values.on;
  const plan = buildPlan(registry, ctx.positionals[0], typeof on === 'string' ? on : undefined, rollout);
  ctx.io.stdout.write(ctx.global.json ? `${JSON.stringify(planJson(plan), null, 2)}\n` : planText(plan));
  return EXIT.OK;
}

export function planJson(plan: Plan) {
  return {
    target: plan.target,
    targetKind: plan.targetKind,
    selector: plan.selector,
    hosts: plan.hosts,
    rollout: plan.rollout ?? null,
    stages: plan.stages.map((stage) => ({
      index: stage.index,
      op: stage.op.id,
      description: stage.op.description ?? null,
      runsOn: stage.op.runsOn,
      timeoutMs: stage.op.timeoutMs,
      retryable: stage.op.retryable,
      retries: stage.op.retries,
      rollback: stage.op.rollback
        ? { timeoutMs: stage.op.rollback.timeoutMs, armedMs: stage.op.rollback.armedMs ?? null }
        : null,
      commands: stage.commands.map((command) => ({ host: command.hostId, ...command.rendered })),
    })),
  };
}

function planText(plan: Plan): string {
  const lines = [
    `${plan.targetKind} ${plan.target} on ${plan.hosts.length} host(s) (selector ${plan.selector}): ${plan.hosts.join(', ')}`,
  ];
  if (plan.rollout) lines.push(...rolloutLines(plan.rollout));
  const width = Math.max(...plan.stages.flatMap((stage) => stage.commands.map((c) => c.hostId.length)));
  const onController = plan.stages.map((stage) => stage.op.runsOn === 'controller');
  const waves = plan.rollout?.waves.length ?? 1;
  for (const stage of plan.stages) {
    lines.push(
      '',
      stageTitle(stage, plan.stages.length, waves > 1 ? controllerPlacement(onController, stage.index) : null),
    );
    for (const command of stage.commands) lines.push(...commandLines(command, width));
  }
  lines.push('', `nothing was run; \`nixfleet apply ${plan.target}\` runs it`, '');
  return lines.join('\n');
}

/** In a rollout of several waves a controller op runs before the first or after the last (CORE-008). */
const CONTROLLER_WAVE: Readonly<Record<ControllerPlacement, string>> = {
  first: ', before the first wave',
  last: ', after the last wave',
  between: '',
};

function stageTitle(stage: PlannedStage, total: number, placement: ControllerPlacement | null): string {
  const op = stage.op;
  const traits = [
    `timeout ${formatDuration(op.timeoutMs)}`,
    ...(op.runsOn === 'controller'
      ? [`once, on the controller${placement === null ? '' : CONTROLLER_WAVE[placement]}`]
      : []),
    ...(op.retryable
      ? [op.retries > 0 ? `retryable, ${op.retries} automatic ${op.retries === 1 ? 'retry' : 'retries'}` : 'retryable']
      : []),
    ...(op.rollback ? [rollbackTrait(op.rollback)] : []),
  ];
  const description = op.description ? `: ${op.description}` : '';
  return `stage ${stage.index + 1}/${total}  ${op.id}${description} (${traits.join(', ')})`;
}

/** CORE-009: the plan says how long a rollback may run and when an armed one would fire. */
function rollbackTrait(rollback: Rollback): string {
  const armed = rollback.armedMs !== undefined ? `, armed ${formatDuration(rollback.armedMs)}` : '';
  return `rollback timeout ${formatDuration(rollback.timeoutMs)}${armed}`;
}

function commandLines(command: PlannedCommand, width: number): string[] {
  const { rendered } = command;
  const label = command.hostId.padEnd(width);
  const blank = ' '.repeat(width);
  const entries: string[] = [];
  if (rendered.cwd !== undefined) entries.push(`cd ${rendered.cwd}`);
  if (rendered.precheck !== undefined) entries.push(`precheck  $ ${rendered.precheck}`);
  entries.push(`$ ${rendered.run}`);
  if (rendered.postcheck !== undefined) entries.push(`postcheck $ ${rendered.postcheck}`);
  if (rendered.rollback !== undefined) entries.push(`rollback  $ ${rendered.rollback}`);
  return entries.map((entry, index) => `  ${index === 0 ? label : blank}  ${indentContinuation(entry, width + 4)}`);
}

function indentContinuation(text: string, indent: number): string {
  return text.replaceAll('\n', `\n${' '.repeat(indent + 2)}`);
}
