// CORE-004, protocol 2 on the wire, read byte by byte from raw sockets: the changes of one read of
// the journal travel as one `deltas` message, compressed once for every client that negotiated
// permessage-deflate and plain for the others, and a page that asks for no protocol is told to
// reload.
import { connect, type Socket } from 'node:net';
import { constants, inflateRawSync } from 'node:zlib';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { PROTOCOL_MISMATCH_CLOSE, PROTOCOL_VERSION } from '../../src/sync/protocol.js';
import { type Fixture, startFixture, TOKEN, writeFromAnotherProcess } from './support/sync-fixture.js';

vi.setConfig({ testTimeout: 60_000 });

let fixture: Fixture | undefined;
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await fixture?.close();
  fixture = undefined;
});

interface Frame {
  readonly compressed: boolean;
  readonly message: { type: string; version?: number; changes?: { version: number }[]; now?: number };
}

/** A client that does the handshake by hand and decodes every frame the server sends. */
class RawClient {
  readonly frames: Frame[] = [];
  response = '';
  private buffer = Buffer.alloc(0);

  static open(port: number, extensions?: string): Promise<RawClient> {
    const client = new RawClient();
    return new Promise((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.write(
          [
            `GET /ws?token=${TOKEN}&protocol=${PROTOCOL_VERSION} HTTP/1.1`,
            `Host: 127.0.0.1:${port}`,
            'Upgrade: websocket',
            'Connection: Upgrade',
            'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
            'Sec-WebSocket-Version: 13',
            ...(extensions ? [`Sec-WebSocket-Extensions: ${extensions}`] : []),
            '',
            '',
          ].join('\r\n'),
        );
      });
      sockets.push(socket);
      socket.on('data', (chunk) => {
        client.buffer = Buffer.concat([client.buffer, chunk]);
        if (client.response === '') {
          const end = client.buffer.indexOf('\r\n\r\n');
          if (end === -1) return;
          client.response = client.buffer.subarray(0, end).toString('latin1');
          client.buffer = client.buffer.subarray(end + 4);
          if (!client.response.startsWith('HTTP/1.1 101')) return reject(new Error(client.response));
          resolve(client);
        }
        client.decode();
      });
      socket.once('error', reject);
    });
  }

  /** Server frames are unmasked and, from this server, never fragmented (RFC 6455 §5.2). */
  private decode(): void {
    for (;;) {
      if (this.buffer.length < 2) return;
      const first = this.buffer[0]!;
      let length = this.buffer[1]! & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      const compressed = (first & 0x40) !== 0;
      // RFC 7692 §7.2.2: the receiver appends the sync-flush tail the sender removed.
      const text = compressed
        ? inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), {
            finishFlush: constants.Z_SYNC_FLUSH,
          }).toString('utf8')
        : payload.toString('utf8');
      this.frames.push({ compressed, message: JSON.parse(text) });
    }
  }

  deltaFrames(): Frame[] {
    return this.frames.filter((f) => f.message.type === 'deltas');
  }

  versions(): number[] {
    return this.deltaFrames().flatMap((f) => (f.message.changes ?? []).map((c) => c.version));
  }
}

async function until(check: () => boolean, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('deltas on the wire', () => {
  it('one compressed batch (and init) for deflate clients, the same plain for the others', async () => {
    fixture = await startFixture();
    const { port } = fixture.server;
    const opened = Date.now();
    const deflating = await RawClient.open(port, 'permessage-deflate; client_max_window_bits');
    const plain = await RawClient.open(port);
    // A client that wants a smaller server window than the shared compression uses.
    const narrow = await RawClient.open(port, 'permessage-deflate; server_max_window_bits=10');
    const allOpen = Date.now();
    expect(deflating.response).toMatch(/Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover/i);
    expect(plain.response).not.toMatch(/permessage-deflate/i);
    const start = fixture.journal.version();
    await writeFromAnotherProcess(fixture.dataDir, 'events', '60');
    const head = fixture.journal.version();
    const all = Array.from({ length: head - start }, (_, i) => start + i + 1);
    for (const client of [deflating, plain, narrow]) {
      await until(() => client.versions().length >= all.length, 'every change');
      expect(client.versions()).toEqual(all);
      expect(client.frames[0]?.message.type).toBe('init');
    }
    // Sixty changes written back to back are read in batches, far fewer messages than changes.
    expect(deflating.deltaFrames().length).toBeLessThan(all.length);
    expect(deflating.deltaFrames().every((f) => f.compressed)).toBe(true);
    expect(plain.deltaFrames().some((f) => f.compressed)).toBe(false);
    expect(narrow.deltaFrames().some((f) => f.compressed)).toBe(false);
    // The same messages, whichever way they travelled.
    expect(deflating.deltaFrames().map((f) => f.message)).toEqual(plain.deltaFrames().map((f) => f.message));
    // The init too: compressed once for those that can take it, the same state for all; only the
    // server's clock that ends it is stamped for each client as it is sent.
    expect([deflating, plain, narrow].map((c) => c.frames[0]?.compressed)).toEqual([true, false, false]);
    const { now: _, ...init } = plain.frames[0]!.message;
    for (const client of [deflating, plain, narrow]) {
      const { now, ...rest } = client.frames[0]!.message;
      expect(rest).toEqual(init);
      expect(now).toBeGreaterThanOrEqual(opened);
      expect(now).toBeLessThanOrEqual(allOpen);
    }
    expect(fixture.server.hub.stateReads).toBe(1);
  });
});

describe("the server's clock", () => {
  it('ends each init with the time it was sent, after the state compressed once for all', async () => {
    fixture = await startFixture();
    const { port } = fixture.server;
    const reads = fixture.server.hub.stateReads;
    const first = await RawClient.open(port, 'permessage-deflate; client_max_window_bits');
    await until(() => first.frames.length > 0, 'the first init');
    await new Promise((resolve) => setTimeout(resolve, 50));
    const second = await RawClient.open(port, 'permessage-deflate; client_max_window_bits');
    await until(() => second.frames.length > 0, 'the second init');
    // One read and one compression of the state at this version served both ...
    expect(fixture.server.hub.stateReads - reads).toBe(1);
    const [a, b] = [first.frames[0]!, second.frames[0]!];
    expect([a.compressed, b.compressed]).toEqual([true, true]);
    const { now: firstNow, ...firstInit } = a.message;
    const { now: secondNow, ...secondInit } = b.message;
    expect(secondInit).toEqual(firstInit);
    // ... and each says when it left, not when the state was read.
    expect(secondNow! - firstNow!).toBeGreaterThanOrEqual(50);
  });
});

describe('protocol version', () => {
  it('closes a page that asks for no protocol with a code and a reason that say to reload', async () => {
    fixture = await startFixture();
    const url = new URL(`/ws?token=${TOKEN}`, fixture.server.url);
    url.protocol = 'ws:';
    const ws = new WebSocket(url);
    const messages: string[] = [];
    ws.on('message', (data) => messages.push(String(data)));
    const [code, reason] = await new Promise<[number, string]>((resolve) =>
      ws.once('close', (c, r) => resolve([c, String(r)])),
    );
    expect(code).toBe(PROTOCOL_MISMATCH_CLOSE.code);
    expect(reason).toMatch(/reload the page/);
    expect(messages).toEqual([]);
    expect(fixture.server.hub.size).toBe(0);
  });
});
