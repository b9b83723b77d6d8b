// The connected State Sync clients: init on connect, deltas in order, the beacon, get_state,
// and the bounded send buffer that keeps one slow client from hurting the rest (see CORE-004).
import type { Socket } from 'node:net';
import type { WebSocket } from 'ws';
import type { VersionedChange } from '../store/types.js';
import { JOURNAL_UNAVAILABLE_CLOSE, type ServerMessage } from './protocol.js';
import type { SyncSnapshot } from './state-snapshot.js';
import {
  encodeDeflatedTextFrame,
  encodeMessageStart,
  encodeTextFrame,
  frameWithEnd,
  type MessageStart,
} from './websocket-frame.js';

export interface ClientHubOptions {
  /** Reads a fresh full state from the journal. */
  readonly snapshot: () => SyncSnapshot;
  /**
   * The journal's version now (one cheap read). With it, clients that connect or ask for the
   * state while the version stays the same share one read and one serialization of the state.
   */
  readonly version?: () => number;
  /**
   * Bytes a client may have queued and unsent. Past it the client is dropped: it reconnects and
   * resyncs, which costs one full state instead of unbounded server memory.
   */
  readonly maxBufferedBytes?: number;
  /** Largest client message accepted (clients only ever send `{"type":"get_state"}`). */
  readonly maxClientMessageBytes?: number;
  /** A client that has not taken its whole `init` within this long is dropped. */
  readonly initTimeoutMs?: number;
  /**
   * `get_state` is answered at most once per this many milliseconds, for every client that asked
   * meanwhile at once: a client that asks in a loop costs one state read per interval, not one
   * per message, and cannot hold up the others' deltas (CORE-004).
   */
  readonly stateIntervalMs?: number;
}

/** One message as written to a socket: a whole frame, or the parts of one, written together in order. */
type Frame = Buffer | readonly Buffer[];

interface Client {
  readonly ws: WebSocket;
  readonly socket: Socket;
  /** The version of the last state or delta sent to this client. */
  version: number;
  /** Takes the batches compressed once for all (see `add`). */
  readonly deflate: boolean;
  /**
   * Frames held back until the client has taken its `init` (undefined once it has): the init is
   * as large as the state, which may pass the buffer limit on its own, so it does not count
   * against it; what comes after waits here, bounded by the limit.
   */
  held: Frame[] | undefined;
  heldBytes: number;
  initTimer: NodeJS.Timeout | undefined;
}

export const DEFAULT_MAX_BUFFERED_BYTES = 8 * 1024 * 1024;
/** Largest message a client may send: `{"type":"get_state"}` is 20 bytes. */
export const MAX_CLIENT_MESSAGE_BYTES = 1024;
export const DEFAULT_INIT_TIMEOUT_MS = 60_000;
export const DEFAULT_STATE_INTERVAL_MS = 250;

type StateMessageType = 'init' | 'full_state';

/**
 * One state read and serialized once, and the start of its message encoded once per message type
 * and compression (`init:true`), shared by every client; only the server's `now` that ends the
 * message is encoded per send.
 */
interface CachedState {
  readonly version: number;
  readonly json: string;
  readonly starts: Map<`${StateMessageType}:${boolean}`, MessageStart>;
}

export class ClientHub {
  private readonly clients = new Set<Client>();
  private readonly snapshot: () => SyncSnapshot;
  private readonly maxBufferedBytes: number;
  private readonly maxClientMessageBytes: number;
  private readonly initTimeoutMs: number;
  private readonly version: (() => number) | undefined;
  private readonly stateIntervalMs: number;
  private cached: CachedState | undefined;
  /** Clients whose `get_state` waits for the next answer (see `stateIntervalMs`). */
  private readonly asking = new Set<Client>();
  private askTimer: NodeJS.Timeout | undefined;
  private lastAnswerAt = Number.NEGATIVE_INFINITY;
  private dropped = 0;
  private reads = 0;

  constructor(options: ClientHubOptions) {
    this.snapshot = options.snapshot;
    this.version = options.version;
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxClientMessageBytes = options.maxClientMessageBytes ?? MAX_CLIENT_MESSAGE_BYTES;
    this.initTimeoutMs = options.initTimeoutMs ?? DEFAULT_INIT_TIMEOUT_MS;
    this.stateIntervalMs = options.stateIntervalMs ?? DEFAULT_STATE_INTERVAL_MS;
  }

  get size(): number {
    return this.clients.size;
  }

  /** Clients dropped for a full send buffer, or for not taking their init in time, since start. */
  get droppedCount(): number {
    return this.dropped;
  }

  /** Full states read from the journal and serialized since start (one per version at most, with `version`). */
  get stateReads(): number {
    return this.reads;
  }

  /** Clients whose `init` is still being written, with what waits for it (tests, the bench). */
  get awaitingInit(): number {
    let n = 0;
    for (const client of this.clients) if (client.held !== undefined) n++;
    return n;
  }

  /**
   * Registers an upgraded socket and sends it `init`. `deflate`: it negotiated permessage-deflate
   * in the form one compression can serve for all (no context takeover, full window).
   *
   * The init does not count against the buffer limit (CORE-004, slow clients): it is written
   * whole, and every later message waits until the socket has taken it (the write's callback),
   * bounded by the limit; a client that has not taken it within `initTimeoutMs` is dropped. A
   * client therefore holds at most its init plus the limit.
   */
  add(ws: WebSocket, socket: Socket, deflate = false): void {
    const { version, frame } = this.stateFrame('init', deflate);
    const client: Client = { ws, socket, version, deflate, held: [], heldBytes: 0, initTimer: undefined };
    this.clients.add(client);
    const forget = () => this.forget(client);
    ws.on('close', forget);
    ws.on('error', forget);
    ws.on('message', (data, isBinary) => this.receive(client, data, isBinary));
    client.initTimer = setTimeout(() => this.drop(client), this.initTimeoutMs);
    client.initTimer.unref();
    // A whole frame in one go; ws writes whole frames too, so they never interleave.
    write(socket, frame, (error) => {
      if (error || !this.clients.has(client)) return;
      this.release(client);
    });
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
      if (client.version >= lastVersion) continue;
      const first = client.version < changes[0]!.version ? 0 : changes.findIndex((c) => c.version > client.version);
      if (this.deliver(client, frameFor(first, client.deflate))) client.version = lastVersion;
    }
  }

  /** Everyone gets the full state (the log could not be followed, see ChangeTail.onReset). */
  broadcastFullState(): void {
    if (this.clients.size === 0) return;
    // The log was not followed: whatever was cached may no longer be the journal's state.
    this.cached = undefined;
    for (const client of this.clients) {
      const { version, frame } = this.stateFrame('full_state', client.deflate);
      if (this.deliver(client, frame)) client.version = version;
    }
  }

  /**
   * The beacon: a client whose version differs asks for the full state, and every client sets its
   * reading of the server's clock again (CORE-004).
   */
  beacon(version: number): void {
    if (this.clients.size === 0) return;
    const frame = encodeTextFrame(JSON.stringify({ type: 'sync', version, now: Date.now() } satisfies ServerMessage));
    for (const client of this.clients) this.deliver(client, frame);
  }

  closeAll(code = 1001, reason = 'server shutting down'): void {
    for (const client of this.clients) client.ws.close(code, reason);
  }

  terminateAll(): void {
    clearTimeout(this.askTimer);
    this.askTimer = undefined;
    this.asking.clear();
    for (const client of this.clients) {
      clearTimeout(client.initTimer);
      client.ws.terminate();
    }
    this.clients.clear();
  }

  /**
   * CORE-004: a client may only send `{"type":"get_state"}`. Anything else closes the socket with
   * 1008 (policy violation), or 1007 for text that is not JSON; a message over the size limit is
   * refused by ws with 1009 before it gets here (sync-server.ts sets its maxPayload to the limit).
   */
  private receive(client: Client, data: unknown, isBinary: boolean): void {
    const text = !isBinary && Buffer.isBuffer(data) ? data.toString('utf8') : '';
    if (text.length === 0) {
      client.ws.close(1008, 'expected a JSON text message; clients may only send {"type":"get_state"}');
      return;
    }
    if (Buffer.byteLength(text) > this.maxClientMessageBytes) {
      client.ws.close(1009, `messages are limited to ${this.maxClientMessageBytes} bytes`);
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
      this.ask(client);
      return;
    }
    client.ws.close(1008, 'unknown message type; clients may only send {"type":"get_state"}');
  }

  /**
   * A `get_state`: answered now if no answer went out within `stateIntervalMs`, else with every
   * other client that asks meanwhile when the interval ends, from one state read. Asking again
   * while waiting adds nothing.
   */
  private ask(client: Client): void {
    this.asking.add(client);
    if (this.askTimer !== undefined) return;
    const wait = this.lastAnswerAt + this.stateIntervalMs - performance.now();
    if (wait <= 0) {
      this.answer();
      return;
    }
    this.askTimer = setTimeout(() => {
      this.askTimer = undefined;
      this.answer();
    }, wait);
    this.askTimer.unref();
  }

  private answer(): void {
    this.lastAnswerAt = performance.now();
    const asking = [...this.asking];
    this.asking.clear();
    for (const client of asking) {
      if (!this.clients.has(client)) continue;
      let state: { version: number; frame: Frame };
      try {
        state = this.stateFrame('full_state', client.deflate);
      } catch {
        // The journal cannot be read now; the server's tail, which reads it too, says why.
        client.ws.close(JOURNAL_UNAVAILABLE_CLOSE.code, JOURNAL_UNAVAILABLE_CLOSE.reason);
        continue;
      }
      const { version, frame } = state;
      if (this.deliver(client, frame)) client.version = Math.max(client.version, version);
    }
  }

  /**
   * The state as one framed message, read and serialized once per journal version, and compressed
   * once for the clients that speak permessage-deflate: every client that connects or asks while
   * nothing changed shares the same bytes, all but the last few, the server's `now` as it is sent
   * (CORE-004).
   */
  private stateFrame(type: StateMessageType, deflate: boolean): { version: number; frame: Frame } {
    let cached = this.cached;
    if (cached === undefined || this.version === undefined || this.version() !== cached.version) {
      const { version, state } = this.snapshot();
      this.reads++;
      cached = { version, json: JSON.stringify(state), starts: new Map() };
      this.cached = this.version === undefined ? undefined : cached;
    }
    const key = `${type}:${deflate}` as const;
    let start = cached.starts.get(key);
    if (start === undefined) {
      // The text JSON.stringify({type, version, state, now}) gives, without serializing the state again.
      start = encodeMessageStart(`{"type":"${type}","version":${cached.version},"state":${cached.json}`, deflate);
      cached.starts.set(key, start);
    }
    return { version: cached.version, frame: frameWithEnd(start, `,"now":${Date.now()}}`) };
  }

  /**
   * Writes a frame, or holds it while the client's init is being written. False when the client
   * is gone, or is dropped now for being past the buffer limit.
   */
  private deliver(client: Client, frame: Frame): boolean {
    if (client.ws.readyState !== client.ws.OPEN) return false;
    if (client.held !== undefined) {
      client.heldBytes += frameLength(frame);
      if (client.heldBytes > this.maxBufferedBytes) {
        this.drop(client);
        return false;
      }
      client.held.push(frame);
      return true;
    }
    // The limit is checked once per message: within one batch, even a fast client cannot drain,
    // so a client holds at most the limit plus one batch (see ChangeTail's batch size).
    if (client.ws.bufferedAmount > this.maxBufferedBytes) {
      this.drop(client);
      return false;
    }
    // A whole frame in one go; ws writes whole frames too, so they never interleave.
    write(client.socket, frame);
    return true;
  }

  /** The init has been taken: what waited for it goes out, in order, and the limit applies again. */
  private release(client: Client): void {
    clearTimeout(client.initTimer);
    client.initTimer = undefined;
    const held = client.held ?? [];
    client.held = undefined;
    client.heldBytes = 0;
    if (client.ws.readyState !== client.ws.OPEN) return;
    for (const frame of held) write(client.socket, frame);
  }

  /** Drops a client past the buffer limit, or whose init was not taken in time: it reconnects. */
  private drop(client: Client): void {
    if (!this.clients.has(client)) return;
    this.dropped++;
    this.forget(client);
    client.ws.terminate();
  }

  private forget(client: Client): void {
    this.asking.delete(client);
    clearTimeout(client.initTimer);
    client.initTimer = undefined;
    client.held = undefined;
    this.clients.delete(client);
  }
}

function frameLength(frame: Frame): number {
  if (Buffer.isBuffer(frame)) return frame.length;
  let length = 0;
  for (const part of frame as readonly Buffer[]) length += part.length;
  return length;
}

/**
 * A frame's parts go out together (one writev while corked), so nothing else is written between
 * them and the shared start of a state message is never copied per client. `done` follows the last.
 */
function write(socket: Socket, frame: Frame, done?: (error?: Error | null) => void): void {
  if (Buffer.isBuffer(frame)) {
    socket.write(frame, done);
    return;
  }
  const parts = frame as readonly Buffer[];
  socket.cork();
  for (let i = 0; i < parts.length; i++) socket.write(parts[i]!, i === parts.length - 1 ? done : undefined);
  socket.uncork();
}
