// CORE-005: durations are `500ms`, `30s`, `2m`, `1h`, or a number of seconds.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/config/duration.js';

describe('durations', () => {
  it('parses every unit and plain seconds', () => {
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('30s')).toBe(30_000);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1h')).toBe(3_600_000);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration(90)).toBe(90_000);
    expect(parseDuration(0.25)).toBe(250);
    // Quoted, a number of seconds is still one.
    expect(parseDuration('10')).toBe(10_000);
    expect(parseDuration('0.5')).toBe(500);
    expect(parseDuration('1.4ms')).toBe(1);
    expect(parseDuration(0.001)).toBe(1);
  });

  it('rejects anything else, including zero and anything under 1 ms (not rounded up to it)', () => {
    for (const bad of ['5 minutes', '10 s', '1d', '0', '.5', '1.', '-1s', '', 'ms', 0, -3, Number.NaN, null, true]) {
      expect(parseDuration(bad), String(bad)).toBeUndefined();
    }
    for (const bad of ['0.0009s', '0.5ms', '0.0005', 0.0009]) {
      expect(parseDuration(bad), String(bad)).toBeUndefined();
    }
  });

  it('formats milliseconds with the largest exact unit', () => {
    expect(formatDuration(600_000)).toBe('10m');
    expect(formatDuration(3_600_000)).toBe('1h');
    expect(formatDuration(1500)).toBe('1500ms');
    expect(formatDuration(45_000)).toBe('45s');
  });
});
