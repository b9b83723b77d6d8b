// A real WebSocket client for the protocol tests: records every server message, and optionally
// keeps a State Sync model with the dashboard's own client logic (sync-client.js).
import { WebSocket } from 'ws';
// @ts-expect-error: plain ESM served to the browser as is, without types
import { emptyModel, receive } from '../../../src/dashboard/static/sync-client.js';
import type { ServerMessage } from '../../../src/sync/protocol.js';

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
      const message = JSON.parse(String(data)) as ServerMessage;
      if (options.drop?.(message)) return;
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

  deltas(): Extract<ServerMessage, { type: 'delta' }>[] {
    return this.messages.filter((m) => m.type === 'delta') as Extract<ServerMessage, { type: 'delta' }>[];
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
