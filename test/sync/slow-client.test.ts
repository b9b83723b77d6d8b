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

/** Resolves once `check` holds, checked every 20 ms; rejects after 30 s. */
async function until(check: () => boolean, what: string): Promise<void> {
  for (let waited = 0; !check(); waited += 20) {
    if (waited > 30_000) throw new Error(`timed out after 30 s waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

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

describe('a state larger than the buffer limit (SQLite)', () => {
  it('holds what follows an unread init up to the limit, then drops the client; readers are unaffected', async () => {
    // The init alone (about 11 MB of events) is far past the 64 KiB limit and what the kernel's
    // socket buffers take from a client that never reads.
    fixture = await startFixture({ maxBufferedBytes: 64 * 1024, eventLimit: 1000 });
    await writeFromAnotherProcess(fixture.dataDir, 'events', '700', '16000');
    stalled = await stalledClient(fixture.server.port);
    const healthy = await SyncProbe.connect(fixture.server.url, { token: TOKEN, followProtocol: true });
    await healthy.waitFor(() => healthy.model.version !== null, 15_000, 'init');
    // The big init is not counted against the limit: both are still connected.
    expect(fixture.server.hub.size).toBe(2);
    expect(fixture.server.hub.awaitingInit).toBe(1);

    await writeFromAnotherProcess(fixture.dataDir, 'events', '20', '16000');
    const head = fixture.journal.version();
    await healthy.waitFor(() => healthy.model.version === head, 15_000, `version ${head}`);
    expect(healthy.isOpen).toBe(true);
    expect(healthy.stateRequests).toBe(0);
    // 20 deltas of 16 KB waited for the stalled client's init: past 64 KiB it was dropped.
    await healthy.waitFor(() => fixture?.server.hub.size === 1, 15_000, 'the stalled client dropped');
    expect(fixture.server.hub.droppedCount).toBe(1);
    expect(fixture.server.hub.awaitingInit).toBe(0);
    healthy.close();
  }, 120_000);

  it('drops a client that does not take its init within the init timeout', async () => {
    fixture = await startFixture({ eventLimit: 1000, initTimeoutMs: 500 });
    await writeFromAnotherProcess(fixture.dataDir, 'events', '700', '16000');
    stalled = await stalledClient(fixture.server.port);
    // Nothing changes in the journal: only the timeout can drop it.
    await until(() => fixture?.server.hub.size === 0, 'the stalled client dropped');
    expect(fixture.server.hub.droppedCount).toBe(1);
    expect(fixture.server.hub.size).toBe(0);
  }, 120_000);

  it('reads and serializes the state once for every client that connects at the same version', async () => {
    fixture = await startFixture();
    await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1,web2');
    const before = fixture.server.hub.stateReads;
    const clients = await Promise.all(
      Array.from({ length: 5 }, () => SyncProbe.connect(fixture!.server.url, { token: TOKEN, followProtocol: true })),
    );
    for (const client of clients) await client.waitFor(() => client.model.version !== null, 15_000, 'init');
    expect(fixture.server.hub.stateReads - before).toBe(1);
    const versions = new Set(clients.map((c) => c.model.version));
    expect([...versions]).toEqual([fixture.journal.version()]);
    // A get_state at the same version is answered from the same read.
    clients[0]!.send({ type: 'get_state' });
    await clients[0]!.waitFor(() => clients[0]!.messages.some((m) => m.type === 'full_state'), 15_000, 'full_state');
    expect(fixture.server.hub.stateReads - before).toBe(1);
    // A change makes the next one read again.
    await writeFromAnotherProcess(fixture.dataDir, 'events', '1');
    const head = fixture.journal.version();
    await clients[0]!.waitFor(() => clients[0]!.model.version === head, 15_000, `version ${head}`);
    const late = await SyncProbe.connect(fixture.server.url, { token: TOKEN, followProtocol: true });
    clients.push(late);
    await late.waitFor(() => late.model.version !== null, 15_000, 'init');
    expect(late.model.version).toBe(head);
    expect(fixture.server.hub.stateReads - before).toBe(2);
    for (const client of clients) client.close();
  }, 120_000);

  it('answers a client that asks for the state in a loop once per interval, and the others keep their deltas', async () => {
    fixture = await startFixture();
    const { journal, server } = fixture;
    const flooder = await SyncProbe.connect(server.url, { token: TOKEN });
    const healthy = await SyncProbe.connect(server.url, { token: TOKEN, followProtocol: true });
    await flooder.waitFor(() => flooder.messages.length > 0, 15_000, 'init');
    await healthy.waitFor(() => healthy.model.version !== null, 15_000, 'init');
    const before = server.hub.stateReads;
    // The journal moves every 10 ms, so no two asks 5 ms apart could share one read before.
    const writer = setInterval(
      () => journal.logEvent({ category: 'test', level: 'info', actor: 'writer', action: 'tick', message: 'tick' }),
      10,
    );
    const started = performance.now();
    let lastAsked = 0;
    try {
      for (let i = 0; i < 200; i++) {
        lastAsked = journal.version();
        flooder.send({ type: 'get_state' });
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
    } finally {
      clearInterval(writer);
    }
    const elapsed = performance.now() - started;
    const head = journal.version();
    // The last ask is answered too, with the state as it was then or later.
    const answered = () =>
      flooder.messages.some((m) => m.type === 'full_state' && (m as { version: number }).version >= lastAsked);
    await flooder.waitFor(answered, 15_000, 'an answer to the last get_state');
    await healthy.waitFor(() => healthy.model.version === head, 15_000, `version ${head}`);
    // One read per 250 ms interval (and one at each end), where each of the 200 asks read before.
    const reads = server.hub.stateReads - before;
    expect(reads).toBeLessThanOrEqual(Math.ceil(elapsed / 250) + 2);
    expect(flooder.messages.filter((m) => m.type === 'full_state').length).toBeLessThanOrEqual(
      Math.ceil(elapsed / 250) + 2,
    );
    flooder.close();
    healthy.close();
  }, 120_000);
});
