// The PostgreSQL journal's worker thread (see CORE-012): it owns the `pg` connections and the
// lease heartbeat, and answers the main thread's synchronous calls (postgres-journal.ts) through
// synckit. One worker serves every PostgreSQL journal a process opens, each by its handle.
import { runAsWorker } from 'synckit';
import type { Owner } from '../types.js';
import { openPgCore, type PgCore, type PgOperations } from './pg-core.js';
import { READ_OPERATIONS } from './pg-reads.js';
import { type EncodedError, encodeError } from './remote-error.js';

export type PgRequest =
  | {
      readonly kind: 'open';
      readonly url: string;
      readonly owner: Owner;
      readonly leaseMs: number;
      /** For commands that only read: nothing is written on opening (pg-core.ts, openPgCore). */
      readonly readOnly: boolean;
    }
  | { readonly kind: 'call'; readonly handle: number; readonly method: keyof PgOperations; readonly args: unknown[] }
  | { readonly kind: 'close'; readonly handle: number };

export type PgReply =
  | { readonly ok: true; readonly value: unknown }
  | { readonly ok: false; readonly error: EncodedError };

// pg warns that it will stop reading the password file (~/.pgpass, $PGPASSFILE), which CORE-012
// offers for the journal's password: a DeprecationWarning of several lines on every start, about
// pg's API, that no user of nixfleet can act on. This thread runs only pg.
process.noDeprecation = true;

const cores = new Map<number, PgCore>();
let nextHandle = 1;

async function handle(request: PgRequest): Promise<unknown> {
  switch (request.kind) {
    case 'open': {
      const opened = await openPgCore(request.url, request.owner, request.leaseMs, request.readOnly);
      const handle = nextHandle++;
      cores.set(handle, opened.core);
      return { handle, recovers: opened.recovers, id: opened.id, passwordAsked: opened.passwordAsked };
    }
    case 'call': {
      const core = cores.get(request.handle);
      if (!core) throw new Error(`the PostgreSQL journal (handle ${request.handle}) is closed`);
      await core.reconnectIfDropped();
      const operation = core.operations[request.method] as (...args: unknown[]) => Promise<unknown>;
      try {
        return await operation(...request.args);
      } catch (error) {
        // A read that met a session the server had just ended (a restart, a failover) is asked
        // again on a new one: it changed nothing. A write is not: whether it committed is unknown,
        // so its caller learns of the loss (CORE-012).
        if (!READ_OPERATIONS.has(request.method) || !core.lostSession(error)) throw error;
        await core.reconnect();
        return await operation(...request.args);
      }
    }
    case 'close': {
      const core = cores.get(request.handle);
      cores.delete(request.handle);
      await core?.close();
      return undefined;
    }
  }
}

runAsWorker(async (request: PgRequest): Promise<PgReply> => {
  try {
    return { ok: true, value: await handle(request) };
  } catch (error) {
    return { ok: false, error: encodeError(error) };
  }
});
