// Durations in the fleet file: `500ms`, `30s`, `2m`, `1h`, or a plain number of seconds, written
// as a YAML number (`10`) or quoted (`"10"`) (see CORE-005). The schema accepts exactly the forms
// parseDuration understands.

export const DURATION_PATTERN = '^[0-9]+(\\.[0-9]+)?(ms|s|m|h)?$';

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as const;

/**
 * The longest duration a fleet file may give: 576h (24 days). Every duration reaches a Node timer
 * (an op's timeout, and ssh's connect timeout through the reaper's bound), and a timer over
 * 2^31-1 ms (about 24.8 days) fires at once, so `timeout: 720h` killed ops after about 1 ms.
 */
export const MAX_DURATION_MS = 576 * UNIT_MS.h;
const DURATION = new RegExp(DURATION_PATTERN.replace('(ms|s|m|h)', '(?<unit>ms|s|m|h)'));

/** Milliseconds, or undefined when the value is not a duration or is under 1 ms (refused, below). */
export function parseDuration(value: unknown): number | undefined {
  const ms = writtenMs(value);
  return ms !== undefined && ms > 0 ? ms : undefined;
}

/**
 * What a value in a duration's form stands for, in whole milliseconds, 0 included (`0s`, and
 * anything under 1 ms, `0.0009s` too, which rounding would have made 1 ms): checkDurations refuses
 * those at the value (CORE-005). Undefined when the value is not in a duration's form (the schema
 * says so).
 */
export function writtenMs(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) && value >= 0 ? wholeMs(value * 1000) : undefined;
  if (typeof value !== 'string') return undefined;
  const match = DURATION.exec(value);
  if (!match) return undefined;
  // No unit: seconds, as for a number.
  const unit = (match.groups?.unit ?? 's') as keyof typeof UNIT_MS;
  return wholeMs(Number.parseFloat(value) * UNIT_MS[unit]);
}

function wholeMs(ms: number): number {
  return ms < 1 ? 0 : Math.round(ms);
}

/** The shortest exact spelling of a duration, for tables and plans (`600000` -> `10m`). */
export function formatDuration(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
