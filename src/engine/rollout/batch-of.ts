// Each command's batch and the rollout as journaled (see CORE-008): a controller op belongs to the
// first wave when it comes before every host op, else to the last (controller-placement.ts).
import { controllerPlacement } from '../../domain/controller-placement.js';
import { CONTROLLER_HOST_ID } from '../../registry/types.js';
import type { RolloutRecord } from '../../store/types.js';
import type { RolloutPlan } from './rollout-plan.js';

/** `onController[i]`: whether stage i's op runs on the controller. */
export function batchesOf(
  rollout: RolloutPlan,
  onController: readonly boolean[],
): (hostId: string, stage: number) => number {
  const batchOfHost = new Map<string, number>();
  for (const wave of rollout.waves) for (const host of wave.hosts) batchOfHost.set(host, wave.batch);
  const first = rollout.waves[0]?.batch ?? 1;
  const last = rollout.waves.at(-1)?.batch ?? first;
  return (hostId, stage) => {
    if (hostId !== CONTROLLER_HOST_ID) return batchOfHost.get(hostId) ?? first;
    return controllerPlacement(onController, stage) === 'last' ? last : first;
  };
}

export function rolloutRecordOf(rollout: RolloutPlan): RolloutRecord {
  const { waves: _waves, canaryAsked: _asked, ...record } = rollout;
  return record;
}
