// How `runs` and `show` write a time (src/ui/run-table.ts): UTC, to the second, as ISO 8601 with a
// space for the `T`.
import { describe, expect, it } from 'vitest';
import { formatTimestamp } from '../../src/ui/run-table.js';

describe('formatTimestamp', () => {
  it.each([
    [0, '1970-01-01 00:00:00Z'],
    [Date.UTC(2026, 10, 27, 6, 31, 2, 999), '2026-11-27 06:31:02Z'],
    [Date.UTC(2024, 1, 29, 23, 59, 59), '2024-02-29 23:59:59Z'],
    [Date.UTC(9999, 11, 31, 12, 0, 0), '9999-12-31 12:00:00Z'],
  ])('%i is %s, whatever the local time zone', (ms, text) => {
    expect(formatTimestamp(ms)).toBe(text);
    expect(formatTimestamp(ms)).toBe(
      new Date(ms)
        .toISOString()
        .replace('T', ' ')
        .replace(/\.\d+Z$/, 'Z'),
    );
  });
});
