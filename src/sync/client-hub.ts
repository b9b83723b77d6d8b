// The connected State Sync clients: init on connect, deltas in order, the beacon, get_state,
// and the bounded send buffer that keeps one slow client from hurting the rest (see CORE-004).
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { VersionedChange } from '../store/types.js';
import type { ServerMessage } from './protocol.js';
import type { SyncSnapshot } from './state-snapshot.js';
import { encodeDeflatedTextFrame, encodeTextFrame } from './websocket-frame.js';

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
  /** Takes the batches compressed once for all (see `add`). */
  readonly deflate: boolean;
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

  /**
   * Registers an upgraded socket and sends it `init`. `deflate`: it negotiated permessage-deflate
   * in the form one compression can serve for all (no context takeover, full window).
   */
  add(ws: WebSocket, socket: Socket, deflate = false): void {
    const { version, state } = this.snapshot();
    const client: Client = { ws, socket, version, deflate };
    this.clients.add(client);
    ws.on('close', () => this.clients.delete(client));
    ws.on('error', () => this.clients.delete(client));
    ws.on('message', (data, isBinary) => this.receive(client, data, isBinary));
    this.send(client, JSON.stringify({ type: 'init', version, state } satisfies ServerMessage));
  }

  /**
   * One `deltas` message per batch (CORE-004, protocol 2), serialized, compressed and framed once
   * and written to every client as is: the cost per client is one write per batch, and the bytes
   * on the wire are the batch compressed once for every client that speaks permessage-deflate
   * (bench/sync.bench.mjs measures it).
   */
  broadcastChanges(changes: readonly VersionedChange[]): void {
    if (this.clients.size === 0 || changes.length === 0) return;
    const lastVersion = changes.at(-1)!.version;
    // Encoded on first use: a client that started from a newer snapshot than the batch's start
    // gets only the changes it lacks, and plain or deflated as it negotiated.
    const texts = new Map<number, string>();
    const frames = new Map<string, Buffer>();
    const frameFor = (first: number, deflate: boolean): Buffer => {
      const key = `${first}:${deflate}`;
      let frame = frames.get(key);
      if (frame === undefined) {
        let text = texts.get(first);
        if (text === undefined) {
          const slice = first === 0 ? changes : changes.slice(first);
          text = JSON.stringify({ type: 'deltas', changes: slice } satisfies ServerMessage);
          texts.set(first, text);
        }
        frame = deflate ? encodeDeflatedTextFrame(text) : encodeTextFrame(text);
        frames.set(key, frame);
      }
      return frame;
    };
    for (const client of this.clients) {
      // The limit is checked once per batch: within one, even a fast client cannot drain, so
      // a client holds at most the limit plus one batch (see ChangeTail's batch size).
      if (client.version >= lastVersion || !this.hasRoom(client)) continue;
      const first = client.version < changes[0]!.version ? 0 : changes.findIndex((c) => c.version > client.version);
      // A whole frame in one write; ws writes whole frames too, so they never interleave.
      client.socket.write(frameFor(first, client.deflate));
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
