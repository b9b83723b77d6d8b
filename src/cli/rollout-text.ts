// The rollout of a plan in words (see CORE-008): which hosts go first, the batches, the budget.

import { formatDuration } from '../config/duration.js';
import { hostNames } from '../domain/host-names.js';
import { waveName } from '../domain/wave-name.js';
import { canaryCapText, type RolloutPlan } from '../engine/rollout/rollout-plan.js';

/** Nothing for today's default (one wave, no budget); otherwise a summary and one line per wave. */
export function rolloutLines(rollout: RolloutPlan): string[] {
  if (rollout.waves.length <= 1 && rollout.maxFailures === null && rollout.canary.length === 0) return [];
  // A canary of every target host (a selector that matches them all, or the host of a one-host
  // run) has no rest to wait for it, but still stops the run at its first failure (CORE-008):
  // said, since that is not what a plain run does.
  const everyHost = rollout.canary.length > 0 && rollout.waves.length === 1;
  const canary = hostNames(rollout.canary);
  const order = everyHost
    ? `canary ${canary}: every target host, so the first failure stops the run`
    : rollout.strategy === 'batches'
      ? `${rollout.batches} batch(es), each through every stage`
      : rollout.canary.length > 0
        ? 'then the rest stage by stage'
        : 'every host stage by stage';
  const parts = [
    ...(rollout.canary.length > 0 && !everyHost ? [`canary ${canary} first, alone`] : []),
    order,
    rollout.maxFailures === null
      ? 'no failure budget'
      : `failure budget ${rollout.maxFailures} host(s)${rollout.maxFailuresSpec?.endsWith('%') ? ` (${rollout.maxFailuresSpec})` : ''}`,
    ...(rollout.pauseMs > 0 ? [`pause ${formatDuration(rollout.pauseMs)} between batches`] : []),
  ];
  const capped = canaryCapText(rollout);
  const lines = [...(capped === null ? [] : [capped]), `rollout: ${parts.join('; ')}`];
  if (rollout.waves.length > 1) {
    for (const wave of rollout.waves) {
      const name = waveName(wave.batch, rollout.batches);
      lines.push(`  ${name.padEnd(12)} ${hostNames(wave.hosts)}`);
    }
  }
  return lines;
}
