// CORE-003 / CORE-004: every mutation appends exactly one change in its own transaction; versions
// are contiguous, persisted, and shared by every journal open on the same data directory.
import { describe, expect, it } from 'vitest';
import type { RegistryDiff, RegistrySummary } from '../../src/registry/types.js';
import { CONTROLLER_HOST_ID } from '../../src/registry/types.js';
import { ENGINES } from './engines.js';
import { fakeClock, newRun } from './new-run.js';

const SUMMARY: RegistrySummary = {
  file: '/srv/fleet.yaml',
  hash: 'sha256:abc',
  hosts: [{ id: 'web1', transport: 'local', address: 'web1', tags: ['web'] }],
  ops: [{ id: 'pull', runsOn: 'host', retryable: true }],
  pipelines: [{ id: 'deploy', ops: ['pull'] }],
};
const DIFF: RegistryDiff = {
  hosts: { added: ['web1'], removed: [], modified: [] },
  ops: { added: [], removed: [], modified: ['pull'] },
  pipelines: { added: [], removed: [], modified: [] },
};

describe.each(ENGINES)('the change log on $name', (engine) => {
  it('maps each mutation to its change type with the record as it is after the change', () => {
    const clock = fakeClock();
    const journal = engine.open({ now: clock.now });
    const created = journal.createRun(newRun(['web1'], ['pull', 'switch']));
    const [c1] = created.commands;
    const validating = journal.transitionCommand(c1!.id, 'VALIDATING');
    const executing = journal.transitionCommand(c1!.id, 'EXECUTING');
    journal.reportProgress(c1!.id, 'Fetching origin…');
    const done = journal.transitionCommand(c1!.id, 'SUCCESS', { exitCode: 0 });
    const advanced = journal.advanceRun(created.run.id, 1);
    const cancelled = journal.requestCancel(created.run.id);
    journal.transitionCommand(created.commands[1]!.id, 'CANCELLED');
    const finished = journal.finishRun(created.run.id, 'CANCELLED');
    const event = journal.logEvent({ category: 'run', level: 'warn', actor: 'dashboard', action: 'x', message: 'm' });
    journal.recordRegistry(SUMMARY, DIFF);

    const changes = journal.changesSince(0);
    expect(changes.map((c) => c.version)).toEqual(changes.map((_, i) => i + 1));
    expect(journal.version()).toBe(changes.length);
    expect(changes.map((c) => c.change)).toEqual([
      { type: 'pipeline_started', pipeline: created.run, commands: created.commands },
      { type: 'command_started', command: validating },
      { type: 'command_progress', command: executing },
      { type: 'command_progress', command: executing, tail: 'Fetching origin…' },
      { type: 'command_finished', command: done },
      { type: 'pipeline_updated', pipeline: advanced },
      { type: 'pipeline_updated', pipeline: cancelled },
      { type: 'command_finished', command: expect.objectContaining({ status: 'CANCELLED' }) },
      { type: 'pipeline_finished', pipeline: finished },
      { type: 'event', event },
      { type: 'registry_reloaded', registry: SUMMARY, diff: DIFF },
    ]);
    expect(journal.currentRegistry()).toEqual(SUMMARY);
    expect(journal.changesSince(3, 2).map((c) => c.version)).toEqual([4, 5]);
    expect(journal.changesSince(changes.length)).toEqual([]);
    journal.close();
  });

  it('stays contiguous when two journals (as two processes would) write the same data directory', () => {
    const store = engine.newStore();
    const a = engine.open({}, store);
    const b = engine.open({}, store);
    const runA = a.createRun(newRun(['web1']));
    const runB = b.createRun(newRun(['web2']));
    for (let i = 0; i < 20; i++) {
      (i % 2 ? a : b).logEvent({ category: 'test', level: 'debug', action: 'tick', message: `${i}` });
    }
    a.finishRun(runA.run.id, 'FAILED');
    b.finishRun(runB.run.id, 'FAILED');
    expect(a.version()).toBe(24);
    expect(b.version()).toBe(24);
    expect(b.changesSince(0).map((c) => c.version)).toEqual(Array.from({ length: 24 }, (_, i) => i + 1));
    expect(new Set([runA.run.id, runB.run.id]).size).toBe(2);
    a.close();
    b.close();
  });

  it('host sync appends only real differences', () => {
    const journal = engine.open();
    journal.syncHosts([
      { id: 'web1', hostname: '10.0.0.5', transport: 'ssh', tags: ['web'] },
      { id: 'db1', hostname: 'db1', transport: 'local', tags: [] },
    ]);
    const afterAdd = journal.version();
    journal.syncHosts([
      { id: 'web1', hostname: '10.0.0.5', transport: 'ssh', tags: ['web'] },
      { id: 'db1', hostname: 'db1', transport: 'local', tags: [] },
    ]);
    expect(journal.version()).toBe(afterAdd);
    journal.syncHosts([{ id: 'web1', hostname: '10.0.0.6', transport: 'ssh', tags: ['web', 'eu'] }]);
    const types = journal.changesSince(0).map((c) => c.change.type);
    expect(types).toEqual(['host_added', 'host_added', 'host_updated', 'host_removed']);
    expect(journal.changesSince(afterAdd)[1]!.change).toEqual({ type: 'host_removed', hostId: 'db1' });
    expect(journal.listHosts()).toEqual([
      expect.objectContaining({ id: 'web1', hostname: '10.0.0.6', tags: ['web', 'eu'], transport: 'ssh' }),
    ]);
    journal.close();
  });

  it('a controller op gets a command like any other and never needs a host row', () => {
    const journal = engine.open();
    const run = newRun(['web1'], ['build', 'pull']);
    const { commands } = journal.createRun({
      ...run,
      commands: [
        { stage: 0, hostId: CONTROLLER_HOST_ID, op: 'build' },
        { stage: 1, hostId: 'web1', op: 'pull' },
      ],
    });
    expect(commands.map((c) => [c.id, c.hostId, c.stage])).toEqual([
      ['c1', CONTROLLER_HOST_ID, 0],
      ['c2', 'web1', 1],
    ]);
    journal.close();
  });

  it('a new journal is at version 0 and its oldest kept version is the next one', () => {
    const journal = engine.open();
    expect(journal.version()).toBe(0);
    expect(journal.oldestVersion()).toBe(1);
    journal.logEvent({ category: 'test', level: 'info', action: 'a', message: 'b' });
    expect(journal.oldestVersion()).toBe(1);
    journal.close();
  });
});
