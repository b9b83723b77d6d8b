// The tunables of State Sync that come from the environment (see CORE-004).
// Bad values are user errors naming the variable, never silently replaced by a default.
import { UserError } from '../errors/user-error.js';

export const DEFAULT_BEACON_INTERVAL_MS = 30_000;
export const DEFAULT_INIT_EVENT_LIMIT = 100;

export interface SyncSettings {
  /** How often every client gets a `sync` beacon carrying the server's version. */
  readonly beaconIntervalMs: number;
  /** How many of the newest events `init` and `full_state` carry. */
  readonly eventLimit: number;
}

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/;
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Reads `NIXFLEET_SYNC_BEACON_INTERVAL` (a number of milliseconds, or a duration such as
 * `200ms`, `30s`, `2m`) and `NIXFLEET_INIT_EVENT_LIMIT` (a positive integer).
 */
export function syncSettingsFrom(env: NodeJS.ProcessEnv): SyncSettings {
  return {
    beaconIntervalMs: parseBeaconInterval(env.NIXFLEET_SYNC_BEACON_INTERVAL),
    eventLimit: parseEventLimit(env.NIXFLEET_INIT_EVENT_LIMIT),
  };
}

function parseBeaconInterval(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_BEACON_INTERVAL_MS;
  const match = DURATION.exec(raw.trim());
  const ms = match ? Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1) : Number.NaN;
  // Below 10 ms the beacon would be noise that competes with deltas; above a day it is useless.
  if (!Number.isFinite(ms) || ms < 10 || ms > 86_400_000) {
    throw new UserError(`NIXFLEET_SYNC_BEACON_INTERVAL: \`${raw}\` is not a duration between 10ms and 24h`, {
      hint: 'use milliseconds (30000) or a duration such as 200ms, 30s or 2m',
    });
  }
  return Math.round(ms);
}

function parseEventLimit(raw: string | undefined): number {
  if (raw === undefined || raw.trim() === '') return DEFAULT_INIT_EVENT_LIMIT;
  const n = Number(raw.trim());
  if (!Number.isInteger(n) || n < 1 || n > 100_000) {
    throw new UserError(`NIXFLEET_INIT_EVENT_LIMIT: \`${raw}\` is not a whole number between 1 and 100000`, {
      hint: 'unset it for the default of 100',
    });
  }
  return n;
}
