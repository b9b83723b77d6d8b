// A host as the human renderers name it: the controller's pseudo-host as `controller`, and in a
// rollout with several waves the host's batch beside it, `h2 [batch 1/3]` (see CORE-008).
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import { batchLabel, type CommandView, type RunView } from './run-view.js';

export function hostLabel(hostId: string): string {
  return hostId === CONTROLLER_HOST_ID ? 'controller' : hostId;
}

/**
 * `h2 [batch 1/3]`, `h1 [canary]`, or just the host outside a rollout. The controller runs once
 * per run, whichever wave it is journaled in (CORE-008), so it carries no batch.
 */
export function hostWithBatch(view: RunView, command: Pick<CommandView, 'hostId' | 'batch'>): string {
  const batch = command.hostId === CONTROLLER_HOST_ID ? null : batchLabel(view, command.batch);
  return batch ? `${hostLabel(command.hostId)} [${batch}]` : hostLabel(command.hostId);
}
