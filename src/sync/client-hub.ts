// The connected State Sync clients: init on connect, deltas in order, the beacon, get_state,
// and the bounded send buffer that keeps one slow client from hurting the rest (see CORE-004).
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { VersionedChange } from '../store/types.js';
import type { ServerMessage } from './protocol.js';
import type { SyncSnapshot } from './state-snapshot.js';
import { encodeTextFrame } from './websocket-frame.js';

export interface ClientHubOptions {
  /** Reads a fresh full state from the journal. */
  readonly snapshot: () => SyncSnapshot;
  /**
   * Bytes a client may have queued and unsent. Past it the client is dropped: it reconnects and
   * resyncs, which costs one full state instead of unbounded server memory.
   */
  readonly maxBufferedBytes?: number;
  /** Largest client message accepted (clients only ever send `{"type":"get_state"}`). */
  readonly maxClientMessageBytes?: number;
}

interface Client {
  readonly ws: WebSocket;
  readonly socket: Socket;
  /** The version of the last state or delta sent to this client. */
  version: number;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;

export class ClientHub {
  private readonly clients = new Set<Client>();
  private readonly snapshot: () => SyncSnapshot;
  private readonly maxBufferedBytes: number;
  private readonly maxClientMessageBytes: number;
  private dropped = 0;

  constructor(options: ClientHubOptions) {
    this.snapshot = options.snapshot;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxClientMessageBytes = options.maxClientMessageBytes ?? 1024;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Clients dropped for a full send buffer since start. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Registers an upgraded socket and sends it `init`. */
  add(ws: WebSocket, socket: Socket): void {
    const { version, state } = this.snapshot();
    const client: Client = { ws, socket, version };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => this.clients.delete(client));
    ws.on('message', (data, isBinary) => this.receive(client, data, isBinary));
    this.send(client, JSON.stringify({ type: 'init', version, state } satisfies ServerMessage));
  }

  /**
   * One `delta` per change. Each is serialized and framed once; the batch's frames are one
   * buffer written to every client as is, so the cost per client is one write per batch, not
   * one JSON encoding and one write per change (bench/sync.bench.mjs measures the difference).
   */
  broadcastChanges(changes: readonly VersionedChange[]): void {
    if (this.clients.size === 0 || changes.length === 0) return;
    const frames = changes.map((c) =>
      encodeTextFrame(JSON.stringify({ type: 'delta', version: c.version, change: c.change } satisfies ServerMessage)),
    );
    const batch = Buffer.concat(frames);
    const offsets: number[] = [];
    let offset = 0;
    for (const frame of frames) {
      offsets.push(offset);
      offset += frame.length;
    }
    const lastVersion = changes.at(-1)!.version;
    for (const client of this.clients) {
      // The limit is checked once per batch: within one, even a fast client cannot drain, so
      // a client holds at most the limit plus one batch (see ChangeTail's batch size).
      if (client.version >= lastVersion || !this.hasRoom(client)) continue;
      // A client that started from a newer snapshot already has the first changes of the batch.
      const first = changes.findIndex((c) => c.version > client.version);
      // Frames are whole and ws writes whole frames too, so they never interleave mid-frame.
      client.socket.write(first === 0 ? batch : batch.subarray(offsets[first]));
      client.version = lastVersion;
    }
  }

  /** Everyone gets the full state (the log could not be followed, see ChangeTail.onReset). */
  broadcastFullState(): void {
    if (this.clients.size === 0) return;
    const { version, state } = this.snapshot();
    const text = JSON.stringify({ type: 'full_state', version, state } satisfies ServerMessage);
    for (const client of this.clients) if (this.send(client, text)) client.version = version;
  }

  /** The beacon: a client whose version differs asks for the full state (CORE-004). */
  beacon(version: number): void {
    const text = JSON.stringify({ type: 'sync', version } satisfies ServerMessage);
    for (const client of this.clients) this.send(client, text);
  }

  closeAll(code = 1001, reason = 'server shutting down'): void {
    for (const client of this.clients) client.ws.close(code, reason);
  }

  terminateAll(): void {
    for (const client of this.clients) client.ws.terminate();
    this.clients.clear();
  }

  private receive(client: Client, data: unknown, isBinary: boolean): void {
    const text = !isBinary && Buffer.isBuffer(data) ? data.toString('utf8') : '';
    if (text.length === 0 || text.length > this.maxClientMessageBytes) {
      client.ws.close(1003, 'expected a JSON text message');
      return;
    }
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      client.ws.close(1007, 'invalid JSON');
      return;
    }
    if (typeof message === 'object' && message !== null && (message as { type?: unknown }).type === 'get_state') {
      const { version, state } = this.snapshot();
      if (this.send(client, JSON.stringify({ type: 'full_state', version, state } satisfies ServerMessage))) {
        client.version = Math.max(client.version, version);
      }
      return;
    }
    client.ws.close(1008, 'unknown message type; clients may only send {"type":"get_state"}');
  }

  /** Queues a frame, or drops the client when its buffer is past the limit. */
  private send(client: Client, text: string): boolean {
    if (!this.hasRoom(client)) return false;
    client.ws.send(text);
    return true;
  }

  /** False for a closed client, and for one past the buffer limit, which is dropped now. */
  private hasRoom(client: Client): boolean {
    if (client.ws.readyState !== client.ws.OPEN) return false;
    if (client.ws.bufferedAmount <= this.maxBufferedBytes) return true;
    this.dropped++;
    this.clients.delete(client);
    client.ws.terminate();
    return false;
  }
}
