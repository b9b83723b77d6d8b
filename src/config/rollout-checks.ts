// Semantic checks of a pipeline's `rollout:` block (see CORE-008) that the schema cannot express:
// percentages up to 100, a batch of at least one host, a strategy that agrees with `batch`, a
// canary selector that matches hosts, and no controller op between host ops in a run split into
// several waves.
import { controllerOpBetweenHostOps } from '../domain/controller-placement.js';
import type { ConfigError } from '../errors/config-error.js';
import { resolveSelector, type SelectableHost } from '../registry/selector.js';
import type { PipelineFile } from './fleet-file.js';
import { CANARY_PERCENT, parseHostAmount } from './host-amount.js';
import { errorAt } from './located-error.js';
import type { FleetEntry, MergedFleet } from './merged-fleet.js';

export function checkRollout(
  fleet: MergedFleet,
  entry: FleetEntry<PipelineFile>,
  hosts: readonly SelectableHost[],
): ConfigError[] {
  const { id, value, source } = entry;
  const rollout = value.rollout;
  if (rollout === undefined) return [];
  const errors: ConfigError[] = [];
  const at = (key: string, message: string, hint?: string, target: 'key' | 'value' = 'value') =>
    errors.push(errorAt(source, ['pipelines', id, 'rollout', key], target, message, hint));
  for (const key of ['batch', 'maxFailures'] as const) {
    const amount = parseHostAmount(rollout[key]);
    if (amount && 'percent' in amount && amount.percent > 100) at(key, `\`${rollout[key]}\` is more than 100%`);
  }
  const batch = parseHostAmount(rollout.batch);
  if (batch && ('count' in batch ? batch.count : batch.percent) === 0) {
    at('batch', 'a batch needs at least one host', 'e.g. `batch: 3` or `batch: 25%`');
  }
  if (rollout.strategy === 'stages' && rollout.batch !== undefined) {
    at('batch', '`batch` applies only to `strategy: batches`', 'set `strategy: batches`, or remove `batch`', 'key');
  }
  if (rollout.strategy === 'batches' && rollout.batch === undefined) {
    at('strategy', '`strategy: batches` needs a `batch` size', 'e.g. `batch: 3` or `batch: 25%`');
  }
  if (typeof rollout.canary === 'string' && CANARY_PERCENT.test(rollout.canary)) {
    at(
      'canary',
      `a canary is a number of hosts or a selector, not a percentage (\`${rollout.canary}\`)`,
      'e.g. `canary: 1` or `canary: web1`; percentages are for `batch`, e.g. `batch: 25%`',
    );
  } else if (typeof rollout.canary === 'string') {
    const result = resolveSelector(hosts, rollout.canary);
    if (!result.ok) at('canary', result.message, result.hint);
  }
  const waves = rollout.canary !== undefined || rollout.batch !== undefined || rollout.strategy === 'batches';
  if (rollout.pause !== undefined && !waves) {
    at('pause', '`pause` waits between batches, and this rollout has none', 'add `canary` or `batch`', 'key');
  }
  // A controller op runs once: before the first wave or after the last, never between host ops.
  const between = controllerOpBetweenHostOps(value.ops.map((op) => fleet.ops.get(op)?.value.runsOn === 'controller'));
  if (waves && between !== undefined) {
    at(
      rollout.canary !== undefined ? 'canary' : 'batch',
      `controller op \`${value.ops[between]}\` runs once per run, so pipeline \`${id}\` cannot run it between host ops in batches or with a canary`,
      'move it first (it runs before the first wave) or last (after the last), split it into its own pipeline, or use only `maxFailures`',
      'key',
    );
  }
  return errors;
}
