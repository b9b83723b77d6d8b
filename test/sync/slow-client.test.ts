// CORE-004: a client that stops reading is dropped once its send buffer passes the limit; the
// others keep getting every delta on time and the server's memory stays bounded.
import { connect, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ENGINES } from '../store/engines.js';
import { type Fixture, startFixture, TOKEN, writeFromAnotherProcess } from './support/sync-fixture.js';
import { SyncProbe } from './support/sync-probe.js';

let fixture: Fixture | undefined;
let stalled: Socket | undefined;
afterEach(async () => {
  stalled?.destroy();
  await fixture?.close();
  fixture = undefined;
});

/** A WebSocket handshake by hand, then never another read: the slowest client there is. */
function stalledClient(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(
        [
          `GET /ws?token=${TOKEN}&protocol=2 HTTP/1.1`,
          `Host: 127.0.0.1:${port}`,
          'Upgrade: websocket',
          'Connection: Upgrade',
          'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
          'Sec-WebSocket-Version: 13',
          '',
          '',
        ].join('\r\n'),
      );
    });
    socket.once('data', (head) => {
      if (!head.toString('latin1').startsWith('HTTP/1.1 101')) return reject(new Error('upgrade refused'));
      socket.pause();
      resolve(socket);
    });
    socket.once('error', reject);
  });
}

describe.each(ENGINES)('a slow client on $name', (engine) => {
  it('is dropped past the buffer limit while a healthy client gets every delta', async () => {
    fixture = await startFixture({ maxBufferedBytes: 256 * 1024 }, undefined, engine.newStore().store);
    stalled = await stalledClient(fixture.server.port);
    const healthy = await SyncProbe.connect(fixture.server.url, { token: TOKEN, followProtocol: true });
    await healthy.waitFor(() => healthy.model.version !== null);
    expect(fixture.server.hub.size).toBe(2);

    // About 10 MB of deltas: more than the kernel's socket buffers can hide.
    await writeFromAnotherProcess(fixture.dataDir, 'events', '600', '16000');
    const head = fixture.journal.version();
    await healthy
      .waitFor(() => healthy.model.version === head, 15_000, `version ${head}`)
      .catch((e) => {
        throw new Error(
          `${e.message}: at ${healthy.model.version}, ${healthy.messages.length} msgs, ${healthy.stateRequests} requests, dropped ${fixture?.server.hub.droppedCount} open ${healthy.isOpen}`,
        );
      });

    expect(fixture.server.hub.droppedCount).toBe(1);
    expect(fixture.server.hub.size).toBe(1);
    expect(healthy.stateRequests).toBe(0);
    healthy.close();
  }, 120_000);
});
