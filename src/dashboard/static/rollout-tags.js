// A run's rollout on the page (see CORE-008): its waves and failure budget in the run header, each
// host's batch beside its name.
import { el } from './dom.js';

/** CORE-008: how many waves the run has and how much of its failure budget is used. */
export function rolloutTags(rollout) {
  if (!rollout) return [];
  const tags = [];
  if (rollout.labels.size > 0) {
    const waves = `${rollout.batches} batch(es)${rollout.canary ? ' after a canary' : ''}`;
    tags.push(el('span', { class: 'tag', id: 'run-batches' }, waves));
  }
  if (rollout.budget) {
    const { used, limit } = rollout.budget;
    tags.push(
      el(
        'span',
        {
          class: `tag${used > limit ? ' warn' : ''}`,
          id: 'run-budget',
          'data-used': String(used),
          'data-limit': String(limit),
        },
        `failure budget ${used}/${limit}`,
      ),
    );
  }
  return tags;
}

/** The batch a host ran in (`batch 1/3`, `canary`), or null outside a rollout. */
export function batchTag(rollout, hostId) {
  return rollout?.labels.has(hostId) ? el('span', { class: 'batch-tag' }, rollout.labels.get(hostId)) : null;
}
