// CORE-004 with real WebSocket clients against a real server, a real journal and writers in
// other processes: init, contiguous deltas, beacon, get_state, healing, restarts.
import { copyFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { readState } from '../../src/sync/state-snapshot.js';
import { ENGINES } from '../store/engines.js';
import { makeTempDir } from '../support/cli.js';
import {
  createPendingRun,
  type Fixture,
  startFixture,
  TOKEN,
  writeFromAnotherProcess,
} from './support/sync-fixture.js';
import { SyncProbe } from './support/sync-probe.js';

vi.setConfig({ testTimeout: 60_000 });

let fixture: Fixture | undefined;
const probes: SyncProbe[] = [];
afterEach(async () => {
  for (const p of probes.splice(0)) p.close();
  await fixture?.close();
  fixture = undefined;
});

async function connect(options: Parameters<typeof SyncProbe.connect>[1] = {}): Promise<SyncProbe> {
  const probe = await SyncProbe.connect(fixture!.server.url, { token: TOKEN, followProtocol: true, ...options });
  probes.push(probe);
  return probe;
}

/** Records compared by id, so order of arrival does not matter, only content. */
function byId(state: unknown): Record<string, unknown> {
  const s = state as Record<string, { id: string | number }[] | unknown>;
  const keyed = (list: unknown) =>
    Object.fromEntries(((list as { id: string | number }[]) ?? []).map((r) => [String(r.id), r]));
  return {
    hosts: keyed(s.hosts),
    commands: keyed(s.commands),
    pipelines: keyed(s.pipelines),
    events: keyed(s.events),
    registry: s.registry,
  };
}

describe.each(ENGINES)('State Sync on $name', (engine) => {
  describe('init on connect', () => {
    it('sends the journal state and its version first', async () => {
      fixture = await startFixture({}, undefined, engine.newStore().store);
      await writeFromAnotherProcess(fixture.dataDir, 'hosts', 'web1,web2');
      const probe = await connect();
      await probe.waitFor(() => probe.messages.length > 0, 15_000, 'init');
      const init = probe.messages[0]!;
      expect(init.type).toBe('init');
      if (init.type !== 'init') return;
      expect(init.version).toBe(fixture.journal.version());
      expect(init.state.hosts.map((h) => h.id)).toEqual(['web1', 'web2']);
      expect(init.state).toHaveProperty('registry', null);
    });

    it('brings every command of a run larger than one page of a journal list (1,000)', async () => {
      // 2,400 commands: more than the first page of the run's list and the newest page of the
      // active ones together.
      fixture = await startFixture({}, undefined, engine.newStore().store);
      const hosts = Array.from({ length: 1200 }, (_, i) => `h${String(i).padStart(4, '0')}`);
      fixture.journal.syncHosts(hosts.map((id) => ({ id, hostname: id, transport: 'local', tags: [] })));
      const { run } = createPendingRun(fixture.journal, hosts, ['pull', 'switch']);
      const probe = await connect();
      await probe.waitFor(() => probe.messages.length > 0, 15_000, 'init');
      const init = probe.messages[0]!;
      if (init.type !== 'init') throw new Error(`first message: ${init.type}`);
      const ofRun = init.state.commands.filter((c) => c.runId === run.id);
      expect(new Set(ofRun.map((c) => c.id)).size).toBe(2400);
    });
  });

  describe('deltas from another process', () => {
    it('a run written by a separate process arrives as contiguous deltas that rebuild the same state', async () => {
      fixture = await startFixture({}, undefined, engine.newStore().store);
      const probe = await connect();
      await probe.waitFor(() => probe.model.version !== null, 15_000, 'init');
      const start = probe.model.version!;
      const runId = await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1,web2,db1');
      const head = fixture.journal.version();
      await probe.waitFor(() => probe.model.version === head, 15_000, `version ${head}`);
      const versions = probe.deltas().map((d) => d.version);
      expect(versions).toEqual(Array.from({ length: head - start }, (_, i) => start + i + 1));
      expect(probe.stateRequests).toBe(0);
      const kinds = new Set(probe.deltas().map((d) => d.change.type));
      for (const kind of [
        'host_added',
        'pipeline_started',
        'command_started',
        'command_progress',
        'command_finished',
      ]) {
        expect(kinds).toContain(kind);
      }
      expect(probe.deltas().at(-1)?.change).toMatchObject({
        type: 'pipeline_finished',
        pipeline: { id: runId, status: 'COMPLETE' },
      });
      expect(byId(probe.model.state)).toEqual(byId(readState(fixture.journal)));
    });
  });

  describe('the sync beacon', () => {
    it('runs removed by retention in another process leave every open page too', async () => {
      fixture = await startFixture({}, undefined, engine.newStore().store);
      await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1,web2');
      const probe = await connect();
      await probe.waitFor(() => (probe.model.state?.pipelines?.length ?? 0) === 1, 15_000, 'the run');
      expect(await writeFromAnotherProcess(fixture.dataDir, 'prune')).toBe('1');
      const head = fixture.journal.version();
      await probe.waitFor(() => probe.model.version === head, 15_000, `version ${head}`);
      const removed = probe.deltas().find((d) => d.change.type === 'pipelines_removed');
      expect(removed?.change).toEqual({ type: 'pipelines_removed', runIds: ['r1'] });
      expect(probe.model.state?.pipelines).toEqual([]);
      expect(probe.model.state?.commands).toEqual([]);
      expect(byId(probe.model.state)).toEqual(byId(readState(fixture.journal)));
    });

    it('carries the current version every NIXFLEET_SYNC_BEACON_INTERVAL', async () => {
      fixture = await startFixture({ beaconIntervalMs: 100 }, undefined, engine.newStore().store);
      await writeFromAnotherProcess(fixture.dataDir, 'events', '3');
      const connected = Date.now();
      const probe = await connect();
      await probe.waitFor(() => probe.messages.filter((m) => m.type === 'sync').length >= 2, 15_000, 'two beacons');
      const beacons = probe.messages.filter((m) => m.type === 'sync');
      expect(beacons.every((b) => b.version === fixture!.journal.version())).toBe(true);
      // And the server's clock as each was sent (CORE-004, the server's clock).
      const times = beacons.map((b) => (b.type === 'sync' ? b.now : Number.NaN));
      expect(times[0]).toBeGreaterThanOrEqual(connected);
      expect(times[1]).toBeGreaterThan(times[0]!);
      expect(times.at(-1)).toBeLessThanOrEqual(Date.now());
      expect(probe.stateRequests).toBe(0);
    });
  });

  describe('get_state', () => {
    it('answers with full_state at the current version', async () => {
      fixture = await startFixture({}, undefined, engine.newStore().store);
      await writeFromAnotherProcess(fixture.dataDir, 'events', '5');
      const probe = await connect({ followProtocol: false });
      await probe.waitFor(() => probe.messages.length > 0);
      const asked = Date.now();
      probe.send({ type: 'get_state' });
      await probe.waitFor(() => probe.messages.some((m) => m.type === 'full_state'), 15_000, 'full_state');
      const full = probe.messages.find((m) => m.type === 'full_state');
      expect(full).toMatchObject({ type: 'full_state', version: fixture.journal.version() });
      if (full?.type === 'full_state') expect(full.state.events).toHaveLength(5);
      // Stamped as it was sent, not when the init's read of the same version was.
      const now = full?.type === 'full_state' ? full.now : Number.NaN;
      expect(now).toBeGreaterThanOrEqual(asked);
      expect(now).toBeLessThanOrEqual(Date.now());
    });

    it('closes the socket on a message that is not get_state', async () => {
      fixture = await startFixture({}, undefined, engine.newStore().store);
      const probe = await connect({ followProtocol: false });
      probe.send({ type: 'drop_tables' });
      await probe.waitFor(() => !probe.isOpen, 15_000, 'close');
      expect(probe.isOpen).toBe(false);
    });
  });

  describe('healing', () => {
    it('a client that drops messages catches up within one beacon', async () => {
      fixture = await startFixture({ beaconIntervalMs: 400 }, undefined, engine.newStore().store);
      // Loses every change after the 5th: nothing after it reveals a gap, only the beacon can.
      let seen = 0;
      let lastLoss = 0;
      let probe: SyncProbe | undefined;
      probe = await connect({
        dropChange: () => {
          if (++seen <= 5) return false;
          lastLoss = probe?.messages.length ?? 0;
          return true;
        },
      });
      await probe.waitFor(() => probe.model.version !== null);
      await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1,web2');
      const head = fixture.journal.version();
      await probe.waitFor(() => probe.model.version === head, 15_000, 'healed version');
      // Counted in beacons, not milliseconds, so a loaded machine cannot make this flaky: after
      // the last loss, at most one beacon comes before the full state that healed it. (None when
      // a beacon during the burst, on a machine slow enough to spread it over several, had already
      // asked for a state that came after the last loss and was current.) Nothing in this loss
      // pattern shows a gap, so every state request was a beacon's doing.
      const afterLoss = probe.messages.slice(lastLoss);
      const healedAt = afterLoss.findLastIndex((m) => m.type === 'full_state');
      expect(healedAt).toBeGreaterThanOrEqual(0);
      expect(afterLoss.slice(0, healedAt).filter((m) => m.type === 'sync').length).toBeLessThanOrEqual(1);
      expect(probe.messages.some((m) => m.type === 'sync')).toBe(true);
      expect(probe.stateRequests).toBeGreaterThanOrEqual(1);
      expect(byId(probe.model.state)).toEqual(byId(readState(fixture.journal)));
    });

    it('a version gap makes the client ask for the state at once', async () => {
      fixture = await startFixture({ beaconIntervalMs: 60_000 }, undefined, engine.newStore().store);
      let seen = 0;
      // The second change is lost, whether it came alone or inside a batch with the rest.
      const probe = await connect({ dropChange: () => ++seen === 2 });
      await probe.waitFor(() => probe.model.version !== null);
      await writeFromAnotherProcess(fixture.dataDir, 'events', '10');
      const head = fixture.journal.version();
      await probe.waitFor(() => probe.model.version === head, 15_000, 'healed version');
      expect(probe.stateRequests).toBe(1);
      expect(byId(probe.model.state)).toEqual(byId(readState(fixture.journal)));
    });
  });

  describe('restarts', () => {
    it('the version survives a server restart and keeps counting from there', async () => {
      fixture = await startFixture({}, undefined, engine.newStore().store);
      await writeFromAnotherProcess(fixture.dataDir, 'events', '7');
      const before = fixture.journal.version();
      expect(before).toBeGreaterThanOrEqual(7);
      await fixture.restart();
      const probe = await connect();
      await probe.waitFor(() => probe.model.version !== null);
      expect(probe.model.version).toBe(before);
      await writeFromAnotherProcess(fixture.dataDir, 'events', '1');
      await probe.waitFor(() => probe.model.version === before + 1, 15_000, 'next version');
      expect(probe.deltas().map((d) => d.version)).toEqual([before + 1]);
    });
  });
});

describe('restarts on SQLite', () => {
  it('a client ahead of the server (restarted on an older database) takes the older state', async () => {
    const dataDir = makeTempDir();
    fixture = await startFixture({}, dataDir);
    await writeFromAnotherProcess(dataDir, 'events', '3');
    await fixture.close();
    const saved = join(makeTempDir(), 'older.db');
    copyFileSync(join(dataDir, 'nixfleet.db'), saved);

    fixture = await startFixture({}, dataDir);
    const probe = await connect();
    await writeFromAnotherProcess(dataDir, 'events', '4');
    const ahead = fixture.journal.version();
    await probe.waitFor(() => probe.model.version === ahead, 15_000, `version ${ahead}`);
    probe.close();

    const port = fixture.server.port;
    await fixture.close();
    for (const suffix of ['', '-wal', '-shm']) rmSync(join(dataDir, `nixfleet.db${suffix}`), { force: true });
    copyFileSync(saved, join(dataDir, 'nixfleet.db'));
    fixture = await startFixture({ port }, dataDir);
    const older = fixture.journal.version();
    expect(older).toBeLessThan(ahead);

    // The dashboard reconnects holding its newer model: the server's init must win.
    const again = await connect({ initialModel: probe.model });
    await again.waitFor(() => again.model.version === older, 15_000, 'the older init');
    await writeFromAnotherProcess(dataDir, 'events', '1');
    await again.waitFor(() => again.model.version === older + 1, 15_000, 'the next change applied');
    expect(again.stateRequests).toBe(0);
    expect(byId(again.model.state)).toEqual(byId(readState(fixture.journal)));
  });
});
