// CORE-003: the read side the CLI (`runs`, `show`, `logs`) and the sync snapshot use.
import { describe, expect, it } from 'vitest';
import { ENGINES } from './engines.js';
import { fakeClock, newRun } from './new-run.js';

describe.each(ENGINES)('reading the journal on $name', (engine) => {
  it('lists runs newest first, active ones on request, and commands by run, host and activity', () => {
    const clock = fakeClock();
    const journal = engine.open({ now: clock.now });
    const first = journal.createRun(newRun(['web1', 'web2'], ['pull', 'switch']));
    for (const command of first.commands) journal.transitionCommand(command.id, 'SKIPPED');
    journal.finishRun(first.run.id, 'FAILED');
    clock.advance(1000);
    const second = journal.createRun(newRun(['web2', 'web1'], ['pull']));
    // Same millisecond: the id number decides.
    const third = journal.createRun(newRun(['db1']));

    expect(journal.listRuns().map((r) => r.id)).toEqual(['r3', 'r2', 'r1']);
    expect(journal.listRuns({ limit: 2 }).map((r) => r.id)).toEqual(['r3', 'r2']);
    expect(journal.listRuns({ activeOnly: true }).map((r) => r.id)).toEqual(['r3', 'r2']);
    expect(journal.countRuns()).toBe(3);

    expect(journal.listCommands({ runId: first.run.id }).map((c) => [c.stage, c.hostId])).toEqual([
      [0, 'web1'],
      [0, 'web2'],
      [1, 'web1'],
      [1, 'web2'],
    ]);
    expect(journal.listCommands({ runId: first.run.id, hostId: 'web2' }).map((c) => c.stage)).toEqual([0, 1]);
    expect(journal.listCommands({ hostId: 'web1' }).map((c) => c.runId)).toEqual(['r2', 'r1', 'r1']);
    expect(journal.listCommands({ activeOnly: true }).map((c) => c.id)).toEqual([
      third.commands[0]!.id,
      second.commands[1]!.id,
      second.commands[0]!.id,
    ]);
    expect(journal.listCommands({ runId: first.run.id, activeOnly: true })).toEqual([]);
    expect(journal.listCommands({ limit: 1 })).toHaveLength(1);
    expect(journal.getRun('r9')).toBeUndefined();
    expect(journal.getCommand('c99')).toBeUndefined();
    journal.close();
  });

  it("finds a run's retries however many runs came after them", () => {
    const clock = fakeClock();
    const journal = engine.open({ now: clock.now });
    const finished = (retryOf?: string) => {
      const { run, commands } = journal.createRun({ ...newRun(['web1']), ...(retryOf ? { retryOf } : {}) });
      for (const command of commands) journal.transitionCommand(command.id, 'SKIPPED');
      journal.finishRun(run.id, 'FAILED');
      clock.advance(1);
      return run.id;
    };
    const first = finished();
    const retry = finished(first);
    // More newer runs than `retry` ever looked through when it searched the newest ones.
    for (let i = 0; i < 1_001; i++) finished();
    expect(journal.listRuns({ retryOf: first }).map((r) => r.id)).toEqual([retry]);
    expect(journal.listRuns({ retryOf: retry })).toEqual([]);
    journal.close();
  });

  it('lists events newest first with their details', () => {
    const journal = engine.open();
    for (let i = 0; i < 5; i++) {
      journal.logEvent({
        category: 'run',
        level: 'info',
        action: 'n',
        message: `${i}`,
        hostId: 'web1',
        details: { i },
      });
    }
    const events = journal.listEvents({ limit: 3 });
    expect(events.map((e) => e.message)).toEqual(['4', '3', '2']);
    expect(events[0]).toMatchObject({ actor: 'system', hostId: 'web1', details: { i: 4 } });
    journal.close();
  });
});
