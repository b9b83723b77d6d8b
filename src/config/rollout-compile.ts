// A checked `rollout:` block as the Registry keeps it (see CORE-008): amounts parsed, the pause in
// milliseconds, and the strategy defaulted (`batches` when a `batch` size is given).
import type { HostAmount, Rollout } from '../registry/types.js';
import { parseDuration } from './duration.js';
import type { RolloutFile } from './fleet-file.js';
import { parseHostAmount } from './host-amount.js';

export function compileRollout(raw: RolloutFile): Rollout {
  const batch = amountOf(raw.batch);
  const maxFailures = amountOf(raw.maxFailures);
  const canary =
    raw.canary === undefined
      ? undefined
      : typeof raw.canary === 'number'
        ? { count: raw.canary }
        : { selector: raw.canary };
  return Object.freeze({
    strategy: raw.strategy ?? (batch !== undefined ? 'batches' : 'stages'),
    ...(batch !== undefined ? { batch } : {}),
    ...(canary !== undefined ? { canary } : {}),
    ...(maxFailures !== undefined ? { maxFailures } : {}),
    pauseMs: parseDuration(raw.pause) ?? 0,
  });
}

function amountOf(value: RolloutFile['batch']): HostAmount | undefined {
  return value === undefined ? undefined : parseHostAmount(value);
}
