// The page's fleet views kept between renders (src/dashboard/static/fleet-view.js, see CORE-004,
// "Redrawing"): a delta derives again only the hosts it touched, and after any sequence of
// changes the kept views equal views derived afresh from the same state.
import { describe, expect, it } from 'vitest';
// @ts-expect-error: plain ESM served to the browser as is, without types
import { createFleetView } from '../../src/dashboard/static/fleet-view.js';
// @ts-expect-error: plain ESM served to the browser as is, without types
import { applyChange, normalizeState } from '../../src/dashboard/static/sync-client.js';

interface Command {
  id: string;
  runId: string;
  hostId: string;
  op: string;
  stage: number;
  status: string;
  attempt: number;
  createdAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  rollbackOf: string | null;
  batch: number | null;
}
interface Run {
  id: string;
  name: string;
  status: string;
  hosts: string[];
  stages: string[];
  createdAt: number;
  rollout: { batches: number; canary: string[]; maxFailures: number | null } | null;
}
type State = { hosts: { id: string }[]; commands: Command[]; pipelines: Run[]; events: unknown[]; registry: null };

const host = (id: string) => ({ id, hostname: id, transport: 'local', tags: [], createdAt: 1, updatedAt: 1 });
let nextCommand = 1;
const command = (runId: string, hostId: string, stage: number, extra: Partial<Command> = {}): Command => ({
  id: `c${nextCommand++}`,
  runId,
  hostId,
  op: `op${stage}`,
  stage,
  status: 'PENDING',
  attempt: 1,
  createdAt: nextCommand,
  startedAt: null,
  finishedAt: null,
  rollbackOf: null,
  batch: null,
  ...extra,
});
const run = (id: string, hosts: string[], stages: string[], rollout: Run['rollout'] = null): Run => ({
  id,
  name: 'deploy',
  status: 'RUNNING',
  hosts,
  stages,
  createdAt: 1,
  rollout,
});

function started(hostIds: string[], stages: string[], rollout: Run['rollout'] = null) {
  const pipeline = run('r1', hostIds, stages, rollout);
  const commands = stages.flatMap((_, stage) =>
    hostIds.map((hostId, i) => command('r1', hostId, stage, rollout ? { batch: i % 2 } : {})),
  );
  const empty = normalizeState({ hosts: hostIds.map(host) });
  return applyChange(empty, {}, { type: 'pipeline_started', pipeline, commands }).state as State;
}

const apply = (state: State, change: object) => applyChange(state, {}, change).state as State;
const progress = (state: State, id: string, patch: Partial<Command>) => {
  const before = state.commands.find((c) => c.id === id) as Command;
  return apply(state, { type: 'command_progress', command: { ...before, ...patch } });
};

describe('the fleet views kept between renders', () => {
  it('derive only the hosts a delta touched, and keep every other row as it was', () => {
    const view = createFleetView();
    let state = started(['a', 'b', 'c'], ['pull', 'switch']);
    const grid = view.runGrid(state, 'r1');
    const statuses = view.hostStatuses(state);
    const b = state.commands.find((c) => c.hostId === 'b' && c.stage === 0) as Command;
    state = progress(state, b.id, { status: 'EXECUTING', startedAt: 5 });

    const next = view.runGrid(state, 'r1');
    expect(next.rows[1].cells[0].command.status).toBe('EXECUTING');
    expect(next.rows[0]).toBe(grid.rows[0]);
    expect(next.rows[2]).toBe(grid.rows[2]);
    expect(next.rows[1]).not.toBe(grid.rows[1]);
    const nextStatuses = view.hostStatuses(state);
    expect(nextStatuses[1].current.status).toBe('EXECUTING');
    expect(nextStatuses[0]).toBe(statuses[0]);
    expect(nextStatuses[2]).toBe(statuses[2]);
    // Nothing changed: the same rows again.
    expect(view.runGrid(state, 'r1').rows).toBe(next.rows);
    expect(view.hostStatuses(state)).toBe(nextStatuses);
  });

  it('derive afresh when one burst removed a run and started another of the same size', () => {
    const view = createFleetView();
    let state = started(['a', 'b'], ['pull']);
    state = apply(state, {
      type: 'pipeline_started',
      pipeline: run('r2', ['c', 'd'], ['pull']),
      commands: [command('r2', 'c', 0), command('r2', 'd', 0)],
    });
    expect(view.hostStatuses(state).map((s: { current: Command }) => s.current)).toEqual([
      expect.objectContaining({ hostId: 'a' }),
      expect.objectContaining({ hostId: 'b' }),
    ]);
    expect(view.runGrid(state, 'r2').rows.map((row: { hostId: string }) => row.hostId)).toEqual(['c', 'd']);
    // Between two draws: r1's commands leave, r3's as many arrive; the array is as long as before.
    state = apply(state, { type: 'pipelines_removed', runIds: ['r1'] });
    state = apply(state, {
      type: 'pipeline_started',
      pipeline: run('r3', ['a', 'b'], ['pull']),
      commands: [command('r3', 'a', 0, { status: 'EXECUTING' }), command('r3', 'b', 0)],
    });
    expect(view.hostStatuses(state)).toEqual(createFleetView().hostStatuses(state));
    expect(view.hostStatuses(state)[0].current).toEqual(expect.objectContaining({ runId: 'r3', status: 'EXECUTING' }));
    expect(view.runGrid(state, 'r2')).toEqual(createFleetView().runGrid(state, 'r2'));
  });

  it('equal views derived afresh after every change of a long random sequence', () => {
    // A small linear congruential generator, read from its high bits: the same sequence on every run.
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return Math.floor((seed / 2 ** 31) * n);
    };
    const pick = <T>(list: T[]) => list[random(list.length)] as T;
    const view = createFleetView();
    let state = started(['a', 'b', 'c', 'd'], ['pull', 'switch', 'check'], { batches: 2, canary: [], maxFailures: 1 });
    let runs = 1;
    let shown: string | undefined = 'r1';
    const statuses = ['VALIDATING', 'EXECUTING', 'SUCCESS', 'ERROR', 'TIMEOUT', 'SKIPPED', 'CANCELLED'];
    // The page draws once per burst: one to three changes are taken in between two draws.
    for (let step = 0; step < 1000; step++) {
      const kind = random(20);
      const target = pick(state.commands);
      if (kind < 12 && target) {
        // A command moves on, now and then on a retry.
        const status = pick(statuses);
        const finished = !['VALIDATING', 'EXECUTING'].includes(status);
        state = progress(state, target.id, {
          status,
          attempt: target.attempt + (random(4) === 0 ? 1 : 0),
          startedAt: step,
          finishedAt: finished ? step : null,
        });
      } else if (kind < 14 && target) {
        // A rollback rides on a failed op's cell (CORE-009).
        const rollback = command(target.runId, target.hostId, target.stage, { rollbackOf: target.id });
        state = apply(state, { type: 'command_progress', command: rollback });
      } else if (kind < 15) {
        // A command on the controller, a host the run did not name.
        state = apply(state, { type: 'command_started', command: command(`r${runs}`, '@controller', 0) });
      } else if (kind < 16) {
        const id = `r${++runs}`;
        const hosts = state.hosts.map((h) => h.id).filter(() => random(2) === 0);
        state = apply(state, {
          type: 'pipeline_started',
          // Every other run is a rollout in two batches with a failure budget (CORE-008).
          pipeline: run(id, hosts, ['pull', 'switch'], runs % 2 ? { batches: 2, canary: [], maxFailures: 1 } : null),
          commands: [0, 1].flatMap((stage) => hosts.map((hostId, i) => command(id, hostId, stage, { batch: i % 2 }))),
        });
      } else if (kind < 17) {
        const pipeline = pick(state.pipelines);
        state = apply(state, { type: 'pipeline_updated', pipeline: { ...pipeline, status: 'COMPLETE' } });
      } else if (kind < 18 && state.pipelines.length > 1) {
        state = apply(state, { type: 'pipelines_removed', runIds: [state.pipelines.at(-1)?.id] });
      } else if (kind < 19) {
        state = apply(state, { type: 'host_added', host: host(`h${step}`) });
      } else if (state.hosts.length > 0) {
        state = apply(state, { type: 'host_removed', hostId: pick(state.hosts).id });
      }
      if (random(3) !== 0) continue;
      const fresh = createFleetView();
      expect(view.hostStatuses(state)).toEqual(fresh.hostStatuses(state));
      // The view keeps one run's grid; now and then the user opens another.
      if (random(10) === 0 || !state.pipelines.some((p) => p.id === shown)) shown = pick(state.pipelines)?.id;
      expect(view.runGrid(state, shown)).toEqual(fresh.runGrid(state, shown));
    }
  });
});
