// Each command's batch and the rollout as journaled (see CORE-008): a controller op belongs to the
// run's only wave (the fleet file refuses controller ops in runs with several).
import { CONTROLLER_HOST_ID } from '../../registry/types.js';
import type { RolloutRecord } from '../../store/types.js';
import type { RolloutPlan } from './rollout-plan.js';

export function batchesOf(rollout: RolloutPlan): (hostId: string) => number {
  const batchOfHost = new Map<string, number>();
  for (const wave of rollout.waves) for (const host of wave.hosts) batchOfHost.set(host, wave.batch);
  const first = rollout.waves[0]?.batch ?? 1;
  return (hostId) => (hostId === CONTROLLER_HOST_ID ? first : (batchOfHost.get(hostId) ?? first));
}

export function rolloutRecordOf(rollout: RolloutPlan): RolloutRecord {
  const { waves: _waves, ...record } = rollout;
  return record;
}
