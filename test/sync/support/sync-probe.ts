// A real WebSocket client for the protocol tests: records every server message, and optionally
// keeps a State Sync model with the dashboard's own client logic (sync-client.js).
import { WebSocket } from 'ws';
// @ts-expect-error: plain ESM served to the browser as is, without types
import { emptyModel, receive } from '../../../src/dashboard/static/sync-client.js';
import { PROTOCOL_VERSION, type ServerMessage, type VersionedDelta } from '../../../src/sync/protocol.js';

export interface SyncModel {
  version: number | null;
  state: Record<string, unknown[]> | null;
  awaitingState: boolean;
}

export interface ProbeOptions {
  readonly token?: string;
  readonly origin?: string;
  readonly headers?: Record<string, string>;
  /** Runs the dashboard's client logic over what arrives (answering get_state requests). */
  readonly followProtocol?: boolean;
  /** Messages for which this returns true are thrown away before anything sees them. */
  readonly drop?: (message: ServerMessage) => boolean;
  /**
   * Changes of a `deltas` message for which this returns true are cut out of it before anything
   * sees it (a message left with none is thrown away): a change lost inside a batch.
   */
  readonly dropChange?: (delta: VersionedDelta) => boolean;
  /** The `?protocol=` to ask for; the server's own unless a test plays an outdated page. */
  readonly protocol?: string | null;
  /** The model a reconnecting dashboard still holds from its previous connection. */
  readonly initialModel?: SyncModel;
}

export class SyncProbe {
  readonly messages: ServerMessage[] = [];
  model: SyncModel = emptyModel();
  stateRequests = 0;
  private readonly ws: WebSocket;
  private readonly waiters = new Set<() => void>();

  private constructor(ws: WebSocket, options: ProbeOptions) {
    this.ws = ws;
    if (options.initialModel) this.model = options.initialModel;
    ws.on('message', (data) => {
      let message = JSON.parse(String(data)) as ServerMessage;
      if (options.drop?.(message)) return;
      if (message.type === 'deltas' && options.dropChange) {
        const kept = message.changes.filter((d) => !options.dropChange?.(d));
        if (kept.length === 0) return;
        message = { ...message, changes: kept };
      }
      this.messages.push(message);
      if (options.followProtocol) {
        const result = receive(this.model, message);
        this.model = result.model;
        if (result.requestState) {
          this.stateRequests++;
          this.send({ type: 'get_state' });
        }
      }
      for (const wake of this.waiters) wake();
    });
    ws.on('close', () => {
      for (const wake of this.waiters) wake();
    });
  }

  static connect(baseUrl: string, options: ProbeOptions = {}): Promise<SyncProbe> {
    const url = new URL('/ws', baseUrl);
    url.protocol = 'ws:';
    if (options.token !== undefined) url.searchParams.set('token', options.token);
    const protocol = options.protocol === undefined ? String(PROTOCOL_VERSION) : options.protocol;
    if (protocol !== null) url.searchParams.set('protocol', protocol);
    const ws = new WebSocket(url, {
      headers: { ...(options.origin ? { Origin: options.origin } : {}), ...options.headers },
    });
    const probe = new SyncProbe(ws, options);
    return new Promise((resolve, reject) => {
      ws.once('open', () => resolve(probe));
      ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      ws.once('error', reject);
    });
  }

  get socket(): WebSocket {
    return this.ws;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  send(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  /** Every change received, in arrival order, out of all `deltas` messages. */
  deltas(): VersionedDelta[] {
    return this.messages.flatMap((m) => (m.type === 'deltas' ? m.changes : []));
  }

  /** Resolves once `check` holds, checked after every message; rejects after `timeoutMs`. */
  async waitFor(check: () => boolean, timeoutMs = 15_000, what = 'condition'): Promise<void> {
    if (check()) return;
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.delete(wake);
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${what}`));
      }, timeoutMs);
      const wake = () => {
        if (!check()) return;
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      this.waiters.add(wake);
    });
  }

  close(): void {
    this.ws.terminate();
  }
}
