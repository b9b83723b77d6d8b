// A connection to PostgreSQL that can be replaced when the server drops it (see CORE-012): a
// server restart, a failover or an idle timeout ends a session, and a `pg.Client` never connects
// again once its connection is lost.
//
// The heartbeat has one of its own (leases): left dropped, the lease would lapse and other
// controllers would orphan this one's running runs and free their hosts while its commands still
// run, so a renewal that fails replaces it. The journal's main connection is another: the call
// that meets the dropped connection fails, and the next one connects again (pg-core.ts).
import pg from 'pg';

/** How the lease's sessions show in pg_stat_activity (operators and tests can find them by it). */
export const LEASE_APPLICATION_NAME = 'nixfleet lease';

export interface ReplaceableConnection {
  /** The connection to use now. */
  current(): pg.Client;
  /** Whether the server dropped it (or it failed): the next user should reconnect first. */
  dropped(): boolean;
  /** Replaces the connection with a new one; the old one is ended. Rejects if it cannot connect. */
  reconnect(): Promise<void>;
  end(): Promise<void>;
  /** Whether the server asked for a password when it first let this connection in. */
  readonly passwordAsked: boolean;
}
export type LeaseConnection = ReplaceableConnection;

export function openLeaseConnection(config: pg.ClientConfig): Promise<LeaseConnection> {
  return openReplaceableConnection({ ...config, application_name: LEASE_APPLICATION_NAME });
}

export async function openReplaceableConnection(config: pg.ClientConfig): Promise<ReplaceableConnection> {
  let broken = false;
  let current: pg.Client | undefined;
  let passwordAsked = false;
  const connected = async () => {
    const client = new pg.Client(config);
    // Which of pg's ways to log in the server asked for: with a password, and where no URL gave
    // one, pg sends $PGPASSWORD (CORE-012: then the commands must not inherit it).
    const asked = () => {
      passwordAsked = true;
    };
    const connection = (client as unknown as { connection: NodeJS.EventEmitter }).connection;
    for (const request of ['authenticationCleartextPassword', 'authenticationMD5Password', 'authenticationSASL']) {
      connection.once(request, asked);
    }
    // A dropped connection must not take the worker thread down: the next query fails instead.
    // Only the connection in use marks the pair dropped, not one being replaced or ended.
    const drop = () => {
      if (client === current) broken = true;
    };
    client.on('error', drop);
    client.on('end', drop);
    try {
      await client.connect();
    } catch (error) {
      await client.end().catch(() => undefined);
      throw error;
    }
    return client;
  };
  let client = await connected();
  current = client;
  const firstAsked = passwordAsked;
  return {
    passwordAsked: firstAsked,
    current: () => client,
    dropped: () => broken,
    async reconnect() {
      const old = client;
      client = await connected();
      current = client;
      broken = false;
      old.end().catch(() => undefined);
    },
    end: () => client.end(),
  };
}
