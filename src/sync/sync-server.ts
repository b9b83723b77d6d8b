// `nixfleet serve`'s server: HTTP API, the dashboard's files and the State Sync socket at /ws,
// on one node:http server (see CORE-004).
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { WebSocketServer } from 'ws';
import { UserError } from '../errors/user-error.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import type { Journal } from '../store/types.js';
import { tokenOf, tokensMatch } from './access-token.js';
import { createApiRouter } from './api-routes.js';
import { ChangeTail } from './change-tail.js';
import { ClientHub, MAX_CLIENT_MESSAGE_BYTES } from './client-hub.js';
import { SECURITY_HEADERS, sendError, setSecurityHeaders } from './http-response.js';
import { isHostAllowed, isOriginAllowed } from './origin-policy.js';
import { JOURNAL_UNAVAILABLE_CLOSE, PROTOCOL_MISMATCH_CLOSE, PROTOCOL_VERSION } from './protocol.js';
import type { RunDispatcher } from './run-dispatcher.js';
import { DEFAULT_SNAPSHOT_LIMITS, readSnapshot } from './state-snapshot.js';
import { DEFAULT_BEACON_INTERVAL_MS, DEFAULT_INIT_EVENT_LIMIT } from './sync-settings.js';

export const DEFAULT_PORT = 7420;
export const DEFAULT_BIND = '127.0.0.1';

export interface SyncServerOptions {
  readonly journal: Journal;
  readonly token: string;
  /** Address to listen on; loopback unless the user asks otherwise. */
  readonly bind?: string;
  /** 0 picks a free port; `SyncServer.port` is the real one. */
  readonly port?: number;
  /** Without one, apply and cancel answer 503 (a server with no fleet file). */
  readonly dispatcher?: RunDispatcher;
  readonly beaconIntervalMs?: number;
  readonly eventLimit?: number;
  readonly pollIntervalMs?: number;
  readonly maxBufferedBytes?: number;
  /** How long a client may take to read its whole `init` before it is dropped. */
  readonly initTimeoutMs?: number;
  readonly reportError?: (error: unknown) => void;
  /** The journal failed while being followed (CORE-003); the server stops following it. */
  readonly onJournalFailure?: (error: unknown) => void;
  /**
   * The PostgreSQL journal's server went away (CORE-012): clients were closed with 1013 and are
   * refused until it is back; the server keeps trying every `journalRetryMs`.
   */
  readonly onJournalLost?: (error: StoreUnavailableError) => void;
  /** The journal answers again: clients may connect, and get the state as it is now. */
  readonly onJournalBack?: (version: number) => void;
  readonly journalRetryMs?: number;
}

const JOURNAL_RETRY_MS = 1_000;

export interface SyncServer {
  readonly bind: string;
  readonly port: number;
  /** `http://host:port/` (the token is not in it: callers decide where it may be printed). */
  readonly url: string;
  readonly hub: ClientHub;
  close(): Promise<void>;
}

export async function startSyncServer(options: SyncServerOptions): Promise<SyncServer> {
  const { journal, token } = options;
  const bind = options.bind ?? DEFAULT_BIND;
  const reportError = options.reportError ?? ((error: unknown) => console.error(error));
  const snapshotLimits = { ...DEFAULT_SNAPSHOT_LIMITS, events: options.eventLimit ?? DEFAULT_INIT_EVENT_LIMIT };
  const snapshot = () => readSnapshot(journal, snapshotLimits);

  const hub = new ClientHub({
    snapshot,
    version: () => journal.version(),
    ...(options.maxBufferedBytes === undefined ? {} : { maxBufferedBytes: options.maxBufferedBytes }),
    ...(options.initTimeoutMs === undefined ? {} : { initTimeoutMs: options.initTimeoutMs }),
  });
  const tail = new ChangeTail(journal, { intervalMs: options.pollIntervalMs ?? 25 });
  // While the journal's server is away (CORE-012): the timer that asks it again.
  let waitingForJournal: NodeJS.Timeout | undefined;
  const waitForJournal = (error: StoreUnavailableError) => {
    options.onJournalLost?.(error);
    hub.closeAll(JOURNAL_UNAVAILABLE_CLOSE.code, JOURNAL_UNAVAILABLE_CLOSE.reason);
    waitingForJournal = setInterval(() => {
      let head: number;
      try {
        head = journal.version();
      } catch {
        return;
      }
      clearInterval(waitingForJournal);
      waitingForJournal = undefined;
      // No client is left from before: each one that connects now gets the state as it is.
      tail.start(following, head);
      options.onJournalBack?.(head);
    }, options.journalRetryMs ?? JOURNAL_RETRY_MS);
  };
  const following = {
    onChanges: (changes: Parameters<ClientHub['broadcastChanges']>[0]) => hub.broadcastChanges(changes),
    onReset: () => hub.broadcastFullState(),
    onFailure: (error: unknown) => {
      if (error instanceof StoreUnavailableError && error.when === 'in use') waitForJournal(error);
      else if (options.onJournalFailure) options.onJournalFailure(error);
      else reportError(error);
    },
  };
  tail.start(following);
  const beacon = setInterval(() => {
    tail.poll();
    hub.beacon(tail.version);
  }, options.beaconIntervalMs ?? DEFAULT_BEACON_INTERVAL_MS);
  beacon.unref();

  const router = createApiRouter({
    journal,
    token,
    snapshotLimits,
    reportError,
    ...(options.dispatcher === undefined ? {} : { dispatcher: options.dispatcher }),
  });

  // The port is known once listening, and no request comes before.
  const own = { bind, port: 0 };
  // Connections with a response under way: a parser error on one (a bad request pipelined behind
  // it) closes it, as Node does, rather than write an answer into the middle of that response.
  const answering = new WeakSet<Socket>();
  const server = createServer((req, res) => {
    answering.add(req.socket);
    res.once('close', () => answering.delete(req.socket));
    setSecurityHeaders(res);
    // CORE-004: a page that reached a loopback server under another name gets nothing.
    if (!isHostAllowed(req, own)) return sendError(res, 403, 'this server answers only to its own address');
    const url = requestUrl(req);
    if (url === undefined) return sendError(res, 400, 'the request target must be a path');
    const match = router.match(req.method ?? 'GET', url.pathname);
    if (match.kind === 'not_found') return sendError(res, 404, `nothing at ${url.pathname}`);
    if (match.kind === 'wrong_method') {
      res.setHeader('Allow', match.allow.join(', '));
      return sendError(res, 405, `${req.method} is not allowed on ${url.pathname}`);
    }
    // A handler that throws before its first await is caught here too, not by the process.
    new Promise((resolve) => resolve(match.handler({ req, res, url, params: match.params }))).catch(
      (error: unknown) => {
        // The PostgreSQL journal's server is away: the request may be asked again later (CORE-012).
        if (error instanceof StoreUnavailableError && !res.headersSent) return sendError(res, 503, error.message);
        reportError(error);
        if (!res.headersSent) sendError(res, 500, 'internal error (see the server output)');
        else res.destroy();
      },
    );
  });

  const wss = new WebSocketServer({
    noServer: true,
    // Clients only ever send {"type":"get_state"}: anything larger is closed with 1009 unread (CORE-004).
    maxPayload: MAX_CLIENT_MESSAGE_BYTES,
    // CORE-004, fan-out: the hub compresses each batch once for all clients, which is valid only
    // with no context carried between messages and the full window (see `shareable` below). ws
    // itself compresses nothing (threshold), so what it sends never waits on zlib and stays in
    // order with the hub's writes.
    perMessageDeflate: { serverNoContextTakeover: true, threshold: Number.POSITIVE_INFINITY },
  });
  // The upgrades whose negotiated permessage-deflate can take the shared compressed batches: a
  // client that asked for a smaller server window gets them uncompressed.
  const shareable = new WeakSet<IncomingMessage>();
  // A handshake ws itself finds malformed (a bad key or extensions header) is refused here, so it
  // carries the same headers as every other response (CORE-004).
  wss.on('wsClientError', (_error, socket, req) => {
    answerOnSocket(
      socket as Socket,
      req.method === 'GET' ? 400 : 405,
      req.method === 'GET' ? 'Bad Request' : 'Method Not Allowed',
    );
  });
  wss.on('headers', (headers, req) => {
    const extensions = headers.find((h) => h.toLowerCase().startsWith('sec-websocket-extensions:'));
    const window = /server_max_window_bits=(\d+)/.exec(extensions ?? '')?.[1];
    if (extensions?.includes('permessage-deflate') && (window === undefined || window === '15')) shareable.add(req);
  });
  // A request Node's parser refuses (a 20 KB header, a method it does not know, framing it cannot
  // trust) was answered by Node itself, without the security headers.
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Socket) => {
    if (!socket.writable || answering.has(socket) || error.code === 'ECONNRESET') return socket.destroy();
    if (error.code === 'HPE_HEADER_OVERFLOW') return answerOnSocket(socket, 431, 'Request Header Fields Too Large');
    if (error.code === 'ERR_HTTP_REQUEST_TIMEOUT') return answerOnSocket(socket, 408, 'Request Timeout');
    answerOnSocket(socket, 400, 'Bad Request');
  });
  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    // Node gives every request with `Connection: Upgrade` to this listener, never to the routes:
    // an `Upgrade: h2c` (`curl --http2`) got an empty 404 for the page. It is told why instead.
    const protocol = req.headers.upgrade ?? '';
    if (protocol.toLowerCase() !== 'websocket') {
      const error = `this server does not switch to ${JSON.stringify(protocol)}: send the request without an Upgrade header (HTTP/1.1)`;
      return answerOnSocket(socket, 400, 'Bad Request', error);
    }
    const url = requestUrl(req);
    if (url?.pathname !== '/ws') return answerOnSocket(socket, 404, 'Not Found');
    // CORE-004: a page from another origin must never reach the socket, token or not.
    if (!isHostAllowed(req, own) || !isOriginAllowed(req)) return answerOnSocket(socket, 403, 'Forbidden');
    if (!tokensMatch(tokenOf(req, url, { allowQuery: true }), token)) {
      return answerOnSocket(socket, 401, 'Unauthorized');
    }
    if (waitingForJournal !== undefined) return answerOnSocket(socket, 503, 'Service Unavailable');
    wss.handleUpgrade(req, socket, head, (ws) => {
      socket.setNoDelay(true);
      // Closed at once below, the socket is still read until the client's close: a bad frame
      // then is an 'error' event, which without a listener would end the process. The hub's
      // clients have their own.
      ws.on('error', () => {});
      // A page loaded before protocol 2 asks for none; it is told to reload instead of being fed
      // messages it would misread.
      if (url.searchParams.get('protocol') !== String(PROTOCOL_VERSION)) {
        ws.close(PROTOCOL_MISMATCH_CLOSE.code, PROTOCOL_MISMATCH_CLOSE.reason);
        return;
      }
      try {
        hub.add(ws, socket, shareable.has(req));
      } catch (error) {
        // The state could not be read (the journal's server went away a moment ago): the tail
        // finds out too, and decides between waiting for it and stopping.
        ws.close(JOURNAL_UNAVAILABLE_CLOSE.code, JOURNAL_UNAVAILABLE_CLOSE.reason);
        if (!(error instanceof StoreUnavailableError)) reportError(error);
      }
    });
  });

  await listen(server, bind, options.port ?? DEFAULT_PORT);
  const port = (server.address() as AddressInfo).port;
  own.port = port;
  const hostForUrl = bind.includes(':') ? `[${bind}]` : bind;

  let closing: Promise<void> | undefined;
  return {
    bind,
    port,
    url: `http://${hostForUrl}:${port}/`,
    hub,
    close() {
      closing ??= (async () => {
        clearInterval(beacon);
        clearInterval(waitingForJournal);
        tail.stop();
        hub.closeAll();
        await new Promise<void>((resolve) => wss.close(() => resolve()));
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        hub.terminateAll();
      })();
      return closing;
    },
  };
}

/**
 * The request's path and query, or undefined when its target is not a path: `new URL` of a
 * target such as `//a:b` (a host in the URL's syntax) throws, and in a request listener that
 * ended the process (CORE-004).
 */
function requestUrl(req: IncomingMessage): URL | undefined {
  const target = req.url ?? '/';
  if (!target.startsWith('/')) return undefined;
  try {
    return new URL(`http://localhost${target}`);
  } catch {
    return undefined;
  }
}

/**
 * A refused upgrade, or a request Node's parser refused, is an HTTP response like any other, with
 * the same headers (CORE-004); the connection closes after it.
 */
function answerOnSocket(socket: Socket, status: number, text: string, error?: string): void {
  const headers = Object.entries(SECURITY_HEADERS).map(([name, value]) => `${name}: ${value}\r\n`);
  const body = error === undefined ? '' : JSON.stringify({ error });
  const type = error === undefined ? '' : 'Content-Type: application/json; charset=utf-8\r\n';
  socket.end(
    `HTTP/1.1 ${status} ${text}\r\n${headers.join('')}${type}Connection: close\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
  socket.destroy();
}

function listen(server: Server, bind: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (error.code === 'EADDRINUSE') {
        reject(
          new UserError(`port ${port} on ${bind} is already in use`, {
            hint: 'pass --port with another port, or --port 0 to pick a free one',
          }),
        );
      } else if (error.code === 'EADDRNOTAVAIL' || error.code === 'ENOTFOUND') {
        reject(new UserError(`cannot listen on ${bind}: no such local address`, { hint: 'check --bind' }));
      } else if (error.code === 'EACCES') {
        reject(new UserError(`not allowed to listen on ${bind}:${port}`, { hint: 'use a port above 1023' }));
      } else {
        reject(error);
      }
    };
    const onListening = () => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, bind);
  });
}
