// The dashboard's State Sync logic (src/dashboard/static/sync-client.js) as a pure function:
// in-order deltas apply, gaps and beacon mismatches ask for the state, init always wins, and the
// server's clock is read from the messages that carry it.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM served to the browser as is, without types
import { applyChange, emptyModel, receive, serverNow } from '../../src/dashboard/static/sync-client.js';

const host = (id: string, updatedAt = 1) => ({
  id,
  hostname: id,
  transport: 'local',
  tags: [],
  createdAt: 1,
  updatedAt,
});
const state = (hosts = [host('web1')]) => ({ hosts, commands: [], pipelines: [], events: [], registry: null });
const event = (id: number) => ({
  id,
  timestamp: id,
  category: 'test',
  level: 'info',
  actor: 't',
  hostId: null,
  action: 'a',
  message: `m${id}`,
  details: null,
});

function started(version = 10) {
  return receive(emptyModel(), { type: 'init', version, state: state() }).model;
}

describe('deltas', () => {
  it('apply in order and move the version', () => {
    let model = started();
    for (const [version, change] of [
      [11, { type: 'host_added', host: host('web2') }],
      [12, { type: 'host_updated', host: host('web1', 5) }],
      [13, { type: 'host_removed', hostId: 'web2' }],
    ] as const) {
      const result = receive(model, { type: 'deltas', changes: [{ version, change }] });
      expect(result.requestState).toBe(false);
      model = result.model;
    }
    expect(model.version).toBe(13);
    expect(model.state.hosts).toEqual([host('web1', 5)]);
  });

  it('a gap asks for the state once and applies nothing until it comes', () => {
    const model = started();
    const gap = receive(model, {
      type: 'deltas',
      changes: [{ version: 12, change: { type: 'host_added', host: host('db1') } }],
    });
    expect(gap.requestState).toBe(true);
    expect(gap.model.state.hosts).toHaveLength(1);
    const next = receive(gap.model, {
      type: 'deltas',
      changes: [{ version: 13, change: { type: 'host_removed', hostId: 'web1' } }],
    });
    expect(next.requestState).toBe(false);
    expect(next.model.state.hosts).toHaveLength(1);
    const healed = receive(next.model, { type: 'full_state', version: 13, state: state([host('db1')]) });
    expect(healed.model).toMatchObject({ version: 13, awaitingState: false });
    expect(
      receive(healed.model, {
        type: 'deltas',
        changes: [{ version: 14, change: { type: 'host_removed', hostId: 'db1' } }],
      }).model.state.hosts,
    ).toEqual([]);
  });

  it('a delta the state already includes is ignored', () => {
    const model = started(20);
    const result = receive(model, {
      type: 'deltas',
      changes: [{ version: 19, change: { type: 'host_removed', hostId: 'web1' } }],
    });
    expect(result.requestState).toBe(false);
    expect(result.model).toBe(model);
  });

  it('a batch applies its changes in order, skipping those the state already includes', () => {
    const result = receive(started(11), {
      type: 'deltas',
      changes: [
        { version: 11, change: { type: 'host_removed', hostId: 'web1' } },
        { version: 12, change: { type: 'host_added', host: host('web2') } },
        { version: 13, change: { type: 'host_updated', host: host('web2', 7) } },
      ],
    });
    expect(result.requestState).toBe(false);
    expect(result.model).toMatchObject({ version: 13, awaitingState: false });
    expect(result.model.state.hosts).toEqual([host('web1'), host('web2', 7)]);
  });

  it('a gap inside a batch keeps what came before it and asks for the state', () => {
    const result = receive(started(10), {
      type: 'deltas',
      changes: [
        { version: 11, change: { type: 'host_added', host: host('web2') } },
        { version: 13, change: { type: 'host_removed', hostId: 'web1' } },
      ],
    });
    expect(result.requestState).toBe(true);
    expect(result.model).toMatchObject({ version: 11, awaitingState: true });
    expect(result.model.state.hosts.map((h: { id: string }) => h.id)).toEqual(['web1', 'web2']);
  });

  it('events are not duplicated and are capped at the newest 100', () => {
    let s: ReturnType<typeof state> = state();
    let tails = {};
    for (let i = 1; i <= 120; i++) ({ state: s, tails } = applyChange(s, tails, { type: 'event', event: event(i) }));
    ({ state: s } = applyChange(s, tails, { type: 'event', event: event(120) }));
    expect(s.events).toHaveLength(100);
    expect(s.events.map((e: { id: number }) => e.id)).toEqual(Array.from({ length: 100 }, (_, i) => 120 - i));
  });

  it('command_progress keeps the latest tail per command', () => {
    const command = { id: 'c1', runId: 'r1', hostId: 'web1', op: 'pull', stage: 0, status: 'EXECUTING', attempt: 1 };
    let s = state();
    let tails = {};
    ({ state: s, tails } = applyChange(s, tails, { type: 'command_progress', command, tail: 'one' }));
    ({ state: s, tails } = applyChange(s, tails, { type: 'command_progress', command, tail: 'two' }));
    expect(tails).toEqual({ c1: 'two' });
    expect(s.commands).toEqual([command]);
  });
});

describe('the beacon', () => {
  it('matching the version asks nothing; differing asks for the state, even twice', () => {
    const model = started(10);
    expect(receive(model, { type: 'sync', version: 10 }).requestState).toBe(false);
    const behind = receive(model, { type: 'sync', version: 12 });
    expect(behind.requestState).toBe(true);
    // The first answer may be what got lost: the next mismatching beacon asks again.
    expect(receive(behind.model, { type: 'sync', version: 12 }).requestState).toBe(true);
  });

  it('a server behind the client (older database) is also a mismatch', () => {
    expect(receive(started(50), { type: 'sync', version: 7 }).requestState).toBe(true);
  });
});

describe('init and full_state', () => {
  it('always replace the model, even with an older version', () => {
    const model = started(50);
    const result = receive(model, { type: 'init', version: 3, state: state([host('db9')]) });
    expect(result.model.version).toBe(3);
    expect(result.model.state.hosts.map((h: { id: string }) => h.id)).toEqual(['db9']);
  });

  it('nothing is applied before the first init', () => {
    const result = receive(emptyModel(), {
      type: 'deltas',
      changes: [{ version: 1, change: { type: 'host_added', host: host('x') } }],
    });
    expect(result.model.state).toBeNull();
    expect(result.requestState).toBe(false);
  });
});

describe("the server's clock (CORE-004)", () => {
  const MINUTE = 60_000;
  // The browser's clock is 7 minutes behind the server's: the server says 10:07 as it reads 10:00.
  const browserAt = Date.UTC(2026, 10, 27, 10, 0);
  const serverAt = browserAt + 7 * MINUTE;

  it('the init sets the offset from its now and the moment it arrived', () => {
    const model = receive(emptyModel(), { type: 'init', version: 1, state: state(), now: serverAt }, browserAt).model;
    expect(model.clockOffset).toBe(7 * MINUTE);
    // Five seconds later by the browser's clock is five seconds later by the server's.
    expect(serverNow(model, browserAt + 5_000)).toBe(serverAt + 5_000);
  });

  it('the beacon sets it again, matching or not, and deltas and a gap keep it', () => {
    let model = receive(emptyModel(), { type: 'init', version: 1, state: state(), now: serverAt }, browserAt).model;
    // The browser's clock was set right in the meantime: the next beacon follows it.
    model = receive(model, { type: 'sync', version: 1, now: serverAt + 30_000 }, serverAt + 30_000).model;
    expect(model.clockOffset).toBe(0);
    const ahead = receive(model, { type: 'sync', version: 4, now: serverAt + 60_000 }, serverAt + 60_000 + MINUTE);
    expect(ahead.requestState).toBe(true);
    expect(ahead.model.clockOffset).toBe(-MINUTE);
    model = ahead.model;
    model = receive(model, {
      type: 'deltas',
      changes: [{ version: 2, change: { type: 'host_added', host: host('x') } }],
    }).model;
    expect(model.version).toBe(2);
    expect(model.clockOffset).toBe(-MINUTE);
    model = receive(model, {
      type: 'deltas',
      changes: [{ version: 9, change: { type: 'host_removed', hostId: 'x' } }],
    }).model;
    expect(model.awaitingState).toBe(true);
    expect(model.clockOffset).toBe(-MINUTE);
    const full = receive(model, { type: 'full_state', version: 9, state: state(), now: serverAt }, browserAt).model;
    expect(full.clockOffset).toBe(7 * MINUTE);
  });

  it("a message without now (a server from before it) keeps what the page had: the browser's clock at first", () => {
    expect(serverNow(started(1), browserAt)).toBe(browserAt);
    const model = receive(emptyModel(), { type: 'init', version: 1, state: state(), now: serverAt }, browserAt).model;
    expect(receive(model, { type: 'init', version: 2, state: state() }, browserAt).model.clockOffset).toBe(7 * MINUTE);
    expect(receive(model, { type: 'sync', version: 1 }, browserAt).model.clockOffset).toBe(7 * MINUTE);
  });
});
