// The rollout of a plan in words (see CORE-008): which hosts go first, the batches, the budget.
import { formatDuration } from '../config/duration.js';
import { hostNames } from '../domain/host-names.js';
import type { RolloutPlan } from '../engine/rollout/rollout-plan.js';

/** Nothing for today's default (one wave, no budget); otherwise a summary and one line per wave. */
export function rolloutLines(rollout: RolloutPlan): string[] {
  if (rollout.waves.length <= 1 && rollout.maxFailures === null) return [];
  const parts = [
    ...(rollout.canary.length > 0 ? [`canary ${hostNames(rollout.canary)} first, alone`] : []),
    rollout.strategy === 'batches'
      ? `${rollout.batches} batch(es), each through every stage`
      : rollout.canary.length > 0
        ? 'then the rest stage by stage'
        : 'every host stage by stage',
    rollout.maxFailures === null
      ? 'no failure budget'
      : `failure budget ${rollout.maxFailures} host(s)${rollout.maxFailuresSpec?.endsWith('%') ? ` (${rollout.maxFailuresSpec})` : ''}`,
    ...(rollout.pauseMs > 0 ? [`pause ${formatDuration(rollout.pauseMs)} between batches`] : []),
  ];
  const lines = [`rollout: ${parts.join('; ')}`];
  if (rollout.waves.length > 1) {
    for (const wave of rollout.waves) {
      const name = wave.batch === 0 ? 'canary' : `batch ${wave.batch}/${rollout.batches}`;
      lines.push(`  ${name.padEnd(12)} ${hostNames(wave.hosts)}`);
    }
  }
  return lines;
}
