// Ownership across machines (see CORE-012): an owner is alive while its lease in `owners` has not
// expired. The lease is renewed by a heartbeat on the journal's worker thread, so a busy main
// thread does not let it lapse, and every comparison uses the database server's clock (now()):
// the controllers' own clocks never decide whether a run is orphaned.
import type pg from 'pg';
import type { Owner } from '../types.js';
import type { LeaseConnection } from './replaceable-connection.js';

/** 30 s by default: a dead owner's hosts are free again at most this long after it died. */
export const DEFAULT_LEASE_MS = 30_000;
/** Three heartbeats per lease: two can be late (a loaded machine) before the lease lapses. */
export const HEARTBEATS_PER_LEASE = 3;

/** An SQL condition true while the owner named by `<alias>.owner_*` holds an unexpired lease. */
export function ownerIsLive(alias: string): string {
  return `EXISTS (SELECT 1 FROM owners o WHERE o.owner_hostname = ${alias}.owner_hostname
    AND o.owner_pid = ${alias}.owner_pid AND o.owner_started_at = ${alias}.owner_started_at
    AND o.lease_expires_at >= now())`;
}

export async function renewLease(db: pg.ClientBase, owner: Owner, leaseMs: number): Promise<void> {
  await db.query(
    `INSERT INTO owners (owner_hostname, owner_pid, owner_started_at, lease_expires_at)
     VALUES ($1, $2, $3, now() + $4 * interval '1 millisecond')
     ON CONFLICT (owner_hostname, owner_pid, owner_started_at)
     DO UPDATE SET lease_expires_at = excluded.lease_expires_at`,
    [owner.hostname, owner.pid, owner.startedAt, leaseMs],
  );
}

/** A controller that closes its journal gives its lease up: whatever it left unfinished is orphaned at once. */
export async function releaseLease(db: pg.ClientBase, owner: Owner): Promise<void> {
  await db.query('DELETE FROM owners WHERE owner_hostname = $1 AND owner_pid = $2 AND owner_started_at = $3', [
    owner.hostname,
    owner.pid,
    owner.startedAt,
  ]);
}

/** Renews the lease; a renewal that fails replaces the connection and is tried once more. */
export function renewLeaseOver(connection: LeaseConnection, owner: Owner, leaseMs: number): Promise<void> {
  return onceAgainIfDropped(connection, (db) => renewLease(db, owner, leaseMs));
}

/**
 * Gives the lease up, as closing does. After a server restart the connection it had is gone: kept,
 * the lease stayed until it expired, and with it the dead controller's runs RUNNING and their
 * hosts busy, its own `retry` hint refused meanwhile.
 */
export async function releaseLeaseOver(connection: LeaseConnection, owner: Owner): Promise<void> {
  // A restart is seldom over when the controller closes (an `apply` whose run the restart stopped
  // exits at once): the release is tried again, on a new connection, for a few seconds.
  const giveUpAt = Date.now() + RELEASE_WINDOW_MS;
  for (;;) {
    try {
      await onceAgainIfDropped(connection, (db) => releaseLease(db, owner));
      return;
    } catch (error) {
      if (Date.now() + RELEASE_RETRY_MS > giveUpAt) throw error;
      await new Promise((resolve) => setTimeout(resolve, RELEASE_RETRY_MS));
    }
  }
}

/** How long closing tries to give its lease up while the server is away (CORE-012, ownership). */
export const RELEASE_WINDOW_MS = 5_000;
const RELEASE_RETRY_MS = 250;

async function onceAgainIfDropped(connection: LeaseConnection, write: (db: pg.ClientBase) => Promise<void>) {
  try {
    await write(connection.current());
  } catch {
    await connection.reconnect();
    await write(connection.current());
  }
}

/** Renews the lease every leaseMs / 3 until stopped; a beat that fails is tried again at the next. */
export function startHeartbeat(connection: LeaseConnection, owner: Owner, leaseMs: number): () => Promise<void> {
  let beating: Promise<void> = Promise.resolve();
  const timer = setInterval(
    () => {
      beating = beating.then(() => renewLeaseOver(connection, owner, leaseMs)).catch(() => undefined);
    },
    Math.max(10, Math.floor(leaseMs / HEARTBEATS_PER_LEASE)),
  );
  return async () => {
    clearInterval(timer);
    await beating;
  };
}
