// `batch` and `maxFailures` (see CORE-008): a number of hosts, or a percentage such as `20%`.
// The fleet file and the `apply` flags accept exactly the same spellings.
import type { HostAmount } from '../registry/types.js';

/** The schema's pattern for a string amount: `20%`, or a number written in quotes (`"3"`), as durations take one. */
export const AMOUNT_PATTERN = '^[0-9]+%?$';

/** The amount, or undefined when the value is neither a whole number nor `N%`. */
export function parseHostAmount(value: unknown): HostAmount | undefined {
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? { count: value } : undefined;
  if (typeof value !== 'string') return undefined;
  if (/^[0-9]+$/.test(value)) return { count: Number(value) };
  if (/^[0-9]+%$/.test(value)) return { percent: Number(value.slice(0, -1)) };
  return undefined;
}

/** As written in the fleet file: `3` or `20%`. */
export function formatHostAmount(amount: HostAmount): string {
  return 'count' in amount ? String(amount.count) : `${amount.percent}%`;
}

/** `canary: 10%`: batches take percentages, a canary does not (CORE-008); said so, not read as a selector. */
export const CANARY_PERCENT = /^[0-9.]+%$/;
