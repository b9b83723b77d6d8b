// The heartbeat's own connection to PostgreSQL (see CORE-012, leases). A server restart, a
// failover or an idle timeout may drop it while the journal's main connection is fine; left
// dropped, the lease would lapse and other controllers would orphan this one's running runs and
// free their hosts while its commands still run. So a renewal that fails replaces the connection.
import pg from 'pg';

/** How the lease's sessions show in pg_stat_activity (operators and tests can find them by it). */
export const LEASE_APPLICATION_NAME = 'nixfleet lease';

export interface LeaseConnection {
  /** The connection to use now. */
  current(): pg.Client;
  /** Replaces the connection with a new one; the old one is ended. Rejects if it cannot connect. */
  reconnect(): Promise<void>;
  end(): Promise<void>;
}

export async function openLeaseConnection(config: pg.ClientConfig): Promise<LeaseConnection> {
  const settings = { ...config, application_name: LEASE_APPLICATION_NAME };
  let client = await connected(settings);
  return {
    current: () => client,
    async reconnect() {
      const dropped = client;
      client = await connected(settings);
      dropped.end().catch(() => undefined);
    },
    end: () => client.end(),
  };
}

async function connected(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  // A dropped connection must not take the worker thread down: the next query fails instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (error) {
    await client.end().catch(() => undefined);
    throw error;
  }
  return client;
}
