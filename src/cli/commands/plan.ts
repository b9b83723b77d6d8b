// `nixfleet plan [TARGET] [--on SEL]`: stages × hosts with the rendered commands; runs nothing.
// With --no-rollback it plans the run `apply --no-rollback` would start: no rollback (CORE-009).

import { cdPath } from '../../config/cd-path.js';
import { formatDuration } from '../../config/duration.js';
import { type ControllerPlacement, controllerPlacement } from '../../domain/controller-placement.js';
import { groupBy } from '../../domain/group-by.js';
import { hostNames, LISTED_HOSTS } from '../../domain/host-names.js';
import { nixfleetCommand } from '../../domain/nixfleet-command.js';
import { shellQuote } from '../../domain/shell-quote.js';
import { visibleControls } from '../../domain/terminal-text.js';
import { buildPlan } from '../../engine/plan.js';
import type { Plan, PlannedStage, PlanOptions, RenderedCommand } from '../../engine/types.js';
import { EXIT } from '../../errors/user-error.js';
import type { Rollback } from '../../registry/types.js';
import type { CommandContext } from '../command.js';
import { refuseFileAsTarget } from '../fleet-file-argument.js';
import { loadFleet } from '../load-fleet.js';
import { parseRolloutFlags, ROLLOUT_OPTIONS } from '../rollout-flags.js';
import { rolloutLines } from '../rollout-text.js';
import { NO_ROLLBACK_OPTION, parseNoRollback } from '../run-flags.js';

export const usage = 'plan [TARGET] [--on SEL] [--batch N|N%] [--canary SEL|N] [--max-failures N|N%] [--no-rollback]';
export const options = {
  on: { type: 'string', valueName: 'SEL', description: 'only these hosts: web1,db1  @tag  web*  !web3' },
  ...ROLLOUT_OPTIONS,
  ...NO_ROLLBACK_OPTION,
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  refuseFileAsTarget('plan', ctx.positionals[0]);
  const rollout = parseRolloutFlags(ctx);
  const planOptions = parseNoRollback(ctx);
  const registry = await loadFleet(ctx);
  const on = ctx.values.on;
  const plan = buildPlan(registry, ctx.positionals[0], typeof on === 'string' ? on : undefined, rollout, planOptions);
  ctx.io.stdout.write(
    ctx.global.json
      ? `${JSON.stringify(planJson(plan, planOptions), null, 2)}\n`
      : planText(plan, planOptions, applyCommand(plan, ctx)),
  );
  return EXIT.OK;
}

/** The `apply` that runs what was planned: the same target, hosts, rollout and rollbacks (CORE-002, hints). */
function applyCommand(plan: Plan, ctx: CommandContext): string {
  const words = ['apply', shellQuote(plan.target)];
  for (const flag of ['on', ...Object.keys(ROLLOUT_OPTIONS)]) {
    const value = ctx.values[flag];
    if (typeof value === 'string') words.push(`--${flag}`, shellQuote(value));
  }
  if (ctx.values['no-rollback'] === true) words.push('--no-rollback');
  return nixfleetCommand(words.join(' '), ctx.global);
}

/**
 * With rollbacks off (CORE-009) the run sends no rollback: `rollbacks` is false, and each stage's
 * `rollback` and each command's are left out as for an op without one.
 */
export function planJson(plan: Plan, options: PlanOptions = {}) {
  const rollbacks = options.rollback !== false;
  return {
    target: plan.target,
    targetKind: plan.targetKind,
    selector: plan.selector,
    hosts: plan.hosts,
    rollout: plan.rollout ?? null,
    rollbacks,
    stages: plan.stages.map((stage) => ({
      index: stage.index,
      op: stage.op.id,
      description: stage.op.description ?? null,
      runsOn: stage.op.runsOn,
      timeoutMs: stage.op.timeoutMs,
      retryable: stage.op.retryable,
      retries: stage.op.retries,
      rollback:
        rollbacks && stage.op.rollback
          ? { timeoutMs: stage.op.rollback.timeoutMs, armedMs: stage.op.rollback.armedMs ?? null }
          : null,
      commands: stage.commands.map((command) => ({ host: command.hostId, ...command.rendered })),
    })),
  };
}

function planText(plan: Plan, options: PlanOptions, apply: string): string {
  const rollbacks = options.rollback !== false;
  const lines = [
    `${plan.targetKind} ${plan.target} on ${plan.hosts.length} host(s) (selector ${plan.selector}): ${hostNames(plan.hosts)}`,
  ];
  if (plan.rollout) lines.push(...rolloutLines(plan.rollout));
  if (!rollbacks) lines.push('rollbacks off (--no-rollback): no failed op is rolled back, no rollback timer is armed');
  const stages = plan.stages.map(stageEntries);
  const width = Math.max(...stages.flatMap((entries) => entries.map((entry) => entry.label.length)));
  const onController = plan.stages.map((stage) => stage.op.runsOn === 'controller');
  const waves = plan.rollout?.waves.length ?? 1;
  for (const stage of plan.stages) {
    lines.push(
      '',
      stageTitle(
        stage,
        plan.stages.length,
        waves > 1 ? controllerPlacement(onController, stage.index) : null,
        rollbacks,
      ),
    );
    for (const entry of stages[stage.index]!) lines.push(...entryLines(entry, width));
  }
  lines.push('', `nothing was run; \`${apply}\` runs it`, '');
  // Fleet values are shown, not obeyed: an escape sequence in one would drive the terminal.
  return visibleControls(lines.join('\n'));
}

/**
 * One host and what it runs, or, past LISTED_HOSTS hosts whose commands read the same, all of
 * them as one entry that names a few.
 */
interface StageEntry {
  readonly label: string;
  readonly lines: readonly string[];
  readonly hosts?: readonly string[];
}

function stageEntries(stage: PlannedStage): StageEntry[] {
  const rendered = stage.commands.map((command) => {
    const lines = renderedLines(command.rendered);
    return { hostId: command.hostId, lines, key: lines.join('\0') };
  });
  const alike = groupBy(rendered, (r) => r.key);
  // A folded group takes the place of its first host; the others keep the plan's host order.
  return rendered.flatMap(({ hostId, lines, key }): StageEntry[] => {
    const group = alike.get(key)!;
    if (group.length <= LISTED_HOSTS) return [{ label: hostId, lines }];
    if (group[0]!.hostId !== hostId) return [];
    return [{ label: `${group.length} hosts`, lines, hosts: group.map((r) => r.hostId) }];
  });
}

/** In a rollout of several waves a controller op runs before the first or after the last (CORE-008). */
const CONTROLLER_WAVE: Readonly<Record<ControllerPlacement, string>> = {
  first: ', before the first wave',
  last: ', after the last wave',
  between: '',
};

function stageTitle(
  stage: PlannedStage,
  total: number,
  placement: ControllerPlacement | null,
  rollbacks: boolean,
): string {
  const op = stage.op;
  const traits = [
    `timeout ${formatDuration(op.timeoutMs)}`,
    ...(op.runsOn === 'controller'
      ? [`once, on the controller${placement === null ? '' : CONTROLLER_WAVE[placement]}`]
      : []),
    ...(op.retryable
      ? [op.retries > 0 ? `retryable, ${op.retries} automatic ${op.retries === 1 ? 'retry' : 'retries'}` : 'retryable']
      : []),
    // With --no-rollback an op that has a rollback says it is off (CORE-009).
    ...(op.rollback ? [rollbacks ? rollbackTrait(op.rollback) : 'rollback off'] : []),
  ];
  const description = op.description ? `: ${op.description}` : '';
  return `stage ${stage.index + 1}/${total}  ${op.id}${description} (${traits.join(', ')})`;
}

/** CORE-009: the plan says how long a rollback may run and when an armed one would fire. */
function rollbackTrait(rollback: Rollback): string {
  const armed = rollback.armedMs !== undefined ? `, armed ${formatDuration(rollback.armedMs)}` : '';
  return `rollback timeout ${formatDuration(rollback.timeoutMs)}${armed}`;
}

function renderedLines(rendered: RenderedCommand): string[] {
  const lines: string[] = [];
  // Quoted as the remote line quotes it: the value is a directory's name, never code (CORE-005).
  if (rendered.cwd !== undefined) lines.push(`cd ${cdPath(rendered.cwd)}`);
  if (rendered.precheck !== undefined) lines.push(`precheck  $ ${rendered.precheck}`);
  lines.push(`$ ${rendered.run}`);
  if (rendered.postcheck !== undefined) lines.push(`postcheck $ ${rendered.postcheck}`);
  if (rendered.rollback !== undefined) lines.push(`rollback  $ ${rendered.rollback}`);
  return lines;
}

function entryLines(entry: StageEntry, width: number): string[] {
  const label = entry.label.padEnd(width);
  const blank = ' '.repeat(width);
  const lines = entry.lines.map(
    (line, index) => `  ${index === 0 ? label : blank}  ${indentContinuation(line, width + 4)}`,
  );
  if (entry.hosts) lines.push(`  ${blank}  (${hostNames(entry.hosts)})`);
  return lines;
}

function indentContinuation(text: string, indent: number): string {
  return text.replaceAll('\n', `\n${' '.repeat(indent + 2)}`);
}
