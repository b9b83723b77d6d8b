// CORE-003: every command status change is a legal step of CORE-001's machine, journaled
// with its change; an illegal one throws and writes nothing.
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  COMMAND_STATUSES,
  type CommandStatus,
  canTransitionCommand,
  IllegalTransitionError,
  isTerminalCommand,
} from '../../src/domain/status.js';
import type { Journal } from '../../src/store/types.js';
import { ENGINES, type Engine, storedProcess } from './engines.js';
import { fakeClock, newRun } from './new-run.js';

/** How to bring a fresh PENDING command to each status. */
const PATH_TO: Record<CommandStatus, readonly CommandStatus[]> = {
  PENDING: [],
  VALIDATING: ['VALIDATING'],
  EXECUTING: ['VALIDATING', 'EXECUTING'],
  SUCCESS: ['VALIDATING', 'EXECUTING', 'SUCCESS'],
  ERROR: ['VALIDATING', 'EXECUTING', 'ERROR'],
  TIMEOUT: ['VALIDATING', 'EXECUTING', 'TIMEOUT'],
  BLOCKED: ['VALIDATING', 'BLOCKED'],
  SKIPPED: ['SKIPPED'],
  CANCELLED: ['CANCELLED'],
  ORPHANED: ['ORPHANED'],
};

const PAIRS = COMMAND_STATUSES.flatMap((from) => COMMAND_STATUSES.map((to) => [from, to] as const));
const LEGAL = PAIRS.filter(([from, to]) => canTransitionCommand(from, to));
const ILLEGAL = PAIRS.filter(([from, to]) => !canTransitionCommand(from, to));

let journal: Journal | undefined;
afterEach(() => {
  journal?.close();
  journal = undefined;
});

// One journal per engine for the whole machine walk: each case gets its own host, so no lock is in the way.
const shared = new Map<Engine, { clock: ReturnType<typeof fakeClock>; journal: Journal; hosts: number }>();
afterAll(() => {
  for (const walk of shared.values()) walk.journal.close();
});

function commandAt(engine: Engine, status: CommandStatus) {
  let walk = shared.get(engine);
  if (!walk) {
    const clock = fakeClock();
    walk = { clock, journal: engine.open({ now: clock.now }), hosts: 0 };
    shared.set(engine, walk);
  }
  const { clock, journal } = walk;
  const { commands } = journal.createRun(newRun([`h${walk.hosts++}`]));
  const id = commands[0]!.id;
  for (const step of PATH_TO[status]) {
    clock.advance(10);
    journal.transitionCommand(id, step);
  }
  return { id, journal, clock };
}

describe.each(ENGINES)('command transitions on $name', (engine) => {
  it('covers the whole machine: 10 statuses, legal and illegal pairs', () => {
    expect(LEGAL.length + ILLEGAL.length).toBe(100);
    expect(LEGAL.length).toBeGreaterThan(15);
  });

  it.each(LEGAL)('%s -> %s is journaled with its change', (from, to) => {
    const { id, journal: j, clock } = commandAt(engine, from);
    const before = j.getCommand(id)!;
    const version = j.version();
    clock.advance(1000);
    const after = j.transitionCommand(id, to, { exitCode: isTerminalCommand(to) ? 7 : undefined });
    expect(after.status).toBe(to);
    expect(j.getCommand(id)).toEqual(after);
    expect(after.startedAt).toBe(to === 'VALIDATING' ? clock.now() : before.startedAt);
    expect(after.finishedAt).toBe(isTerminalCommand(to) ? clock.now() : null);
    expect(after.attempt).toBe(from === 'EXECUTING' && to === 'EXECUTING' ? before.attempt + 1 : before.attempt);
    const changes = j.changesSince(version);
    expect(changes).toHaveLength(1);
    const expectedType =
      to === 'VALIDATING' ? 'command_started' : isTerminalCommand(to) ? 'command_finished' : 'command_progress';
    expect(changes[0]).toEqual({ version: version + 1, change: { type: expectedType, command: after } });
  });

  it.each(ILLEGAL)('%s -> %s throws and writes nothing', (from, to) => {
    const { id, journal: j } = commandAt(engine, from);
    const before = j.getCommand(id);
    const version = j.version();
    expect(() => j.transitionCommand(id, to)).toThrow(IllegalTransitionError);
    expect(j.getCommand(id)).toEqual(before);
    expect(j.version()).toBe(version);
  });

  it('an automatic retry (EXECUTING -> EXECUTING) raises the attempt and clears the last failure', () => {
    const { id, journal: j } = commandAt(engine, 'EXECUTING');
    j.transitionCommand(id, 'EXECUTING', { exitCode: 1, error: 'exit 1' });
    const retried = j.transitionCommand(id, 'EXECUTING');
    expect(retried).toMatchObject({ attempt: 3, exitCode: null, error: null });
    expect(j.transitionCommand(id, 'SUCCESS', { exitCode: 0 })).toMatchObject({ attempt: 3, exitCode: 0 });
  });

  it('several steps in one call are journaled as one step after another would be, in one transaction', () => {
    const { id, journal: j, clock } = commandAt(engine, 'PENDING');
    const version = j.version();
    clock.advance(1000);
    const [validating, executing] = j.transitionCommandSteps(id, ['VALIDATING', 'EXECUTING']);
    expect(validating).toMatchObject({ status: 'VALIDATING', startedAt: clock.now(), attempt: 1 });
    expect(executing).toMatchObject({ status: 'EXECUTING', startedAt: clock.now(), attempt: 1 });
    expect(j.getCommand(id)).toEqual(executing);
    expect(j.changesSince(version)).toEqual([
      { version: version + 1, change: { type: 'command_started', command: validating } },
      { version: version + 2, change: { type: 'command_progress', command: executing } },
    ]);
  });

  it("several steps can record the command's processes in the same transaction, with no change of their own", () => {
    const at = engine.newStore();
    const j = engine.open({}, at);
    try {
      const { commands } = j.createRun(newRun(['web1']));
      const id = commands[0]!.id;
      const version = j.version();
      const steps = j.transitionCommandSteps(id, ['VALIDATING', 'EXECUTING'], {
        group: 4242,
        startedAt: 7,
        tag: 'nixfleet-x',
      });
      expect(steps.map((record) => record.status)).toEqual(['VALIDATING', 'EXECUTING']);
      expect(j.version()).toBe(version + 2);
      expect(storedProcess(at, id)).toBe('4242|7|nixfleet-x');
      // An illegal step records no process either.
      const other = j.createRun(newRun(['web2'])).commands[0]!.id;
      expect(() => j.transitionCommandSteps(other, ['VALIDATING', 'SKIPPED'], { group: 1, startedAt: 1 })).toThrow(
        IllegalTransitionError,
      );
      expect(storedProcess(at, other)).toBe('');
    } finally {
      j.close();
    }
  });

  it('several steps that end in a final status finish the command, as the last step alone would', () => {
    const { id, journal: j, clock } = commandAt(engine, 'PENDING');
    clock.advance(1000);
    const [, blocked] = j.transitionCommandSteps(id, ['VALIDATING', 'BLOCKED']);
    expect(blocked).toMatchObject({ status: 'BLOCKED', finishedAt: clock.now() });
    expect(j.getCommand(id)).toEqual(blocked);
    expect(j.listCommands({ activeOnly: true }).map((command) => command.id)).not.toContain(id);
  });

  it('an illegal step among several writes none of them', () => {
    const { id, journal: j } = commandAt(engine, 'PENDING');
    const before = j.getCommand(id);
    const version = j.version();
    expect(() => j.transitionCommandSteps(id, ['VALIDATING', 'SKIPPED'])).toThrow(IllegalTransitionError);
    expect(j.getCommand(id)).toEqual(before);
    expect(j.version()).toBe(version);
  });

  it('an unknown command id is an error, not a silent no-op', () => {
    const { journal: j } = commandAt(engine, 'PENDING');
    expect(() => j.transitionCommand('c999', 'VALIDATING')).toThrow(/no command with id c999/);
  });
});

describe.each(ENGINES)('run transitions on $name', (engine) => {
  it('a run advances through its stages and finishes once', () => {
    const clock = fakeClock();
    journal = engine.open({ now: clock.now });
    const { run } = journal.createRun(newRun(['web1'], ['pull', 'switch', 'test']));
    expect(run).toMatchObject({ id: 'r1', status: 'RUNNING', currentStage: 0, finishedAt: null });
    expect(journal.advanceRun(run.id, 1).currentStage).toBe(1);
    expect(() => journal!.advanceRun(run.id, 0)).toThrow(/cannot move to stage 0/);
    expect(() => journal!.advanceRun(run.id, 3)).toThrow(/cannot move to stage 3/);
    expect(() => journal!.finishRun(run.id, 'RUNNING')).toThrow(/final status/);
    clock.advance(5000);
    const finished = journal.finishRun(run.id, 'PARTIAL');
    expect(finished).toMatchObject({ status: 'PARTIAL', finishedAt: clock.now(), currentStage: 1 });
    for (const status of ['COMPLETE', 'RUNNING', 'ORPHANED'] as const) {
      expect(() => journal!.finishRun(run.id, status)).toThrow(IllegalTransitionError);
    }
    expect(() => journal!.advanceRun(run.id, 2)).toThrow(IllegalTransitionError);
    expect(journal.getRun(run.id)).toEqual(finished);
  });

  it("a rollout's run moves on wave by wave, each wave from its first stage (CORE-008)", () => {
    journal = engine.open();
    const { run } = journal.createRun(newRun(['web1', 'web2'], ['pull', 'switch']));
    expect(run.currentBatch).toBeNull();
    expect(journal.advanceRun(run.id, 0, 0)).toMatchObject({ currentStage: 0, currentBatch: 0 });
    expect(journal.advanceRun(run.id, 1, 0)).toMatchObject({ currentStage: 1, currentBatch: 0 });
    // The next wave starts over at its first stage; no wave or stage goes back.
    expect(journal.advanceRun(run.id, 0, 1)).toMatchObject({ currentStage: 0, currentBatch: 1 });
    expect(() => journal!.advanceRun(run.id, 1, 0)).toThrow(
      /cannot move to stage 1 of batch 0 \(at stage 0 of batch 1/,
    );
    expect(journal.advanceRun(run.id, 1)).toMatchObject({ currentStage: 1, currentBatch: 1 });
    expect(() => journal!.advanceRun(run.id, 0, 1)).toThrow(/cannot move to stage 0 of batch 1/);
    expect(journal.getRun(run.id)).toMatchObject({ currentStage: 1, currentBatch: 1 });
    expect(journal.changesSince(0).at(-1)?.change).toMatchObject({ pipeline: { currentStage: 1, currentBatch: 1 } });
  });

  it("a rollout's pause is journaled until the next wave starts or the run ends (CORE-008)", () => {
    journal = engine.open();
    const { run } = journal.createRun(newRun(['web1', 'web2', 'web3'], ['pull', 'switch']));
    expect(run.pause).toBeNull();
    journal.advanceRun(run.id, 1, 0);
    const paused = journal.pauseRun(run.id, 1_000_000, 1);
    expect(paused).toMatchObject({ status: 'RUNNING', currentBatch: 0, pause: { until: 1_000_000, nextBatch: 1 } });
    expect(journal.getRun(run.id)).toEqual(paused);
    expect(journal.changesSince(0).at(-1)?.change).toMatchObject({
      type: 'pipeline_updated',
      pipeline: { pause: { until: 1_000_000, nextBatch: 1 } },
    });
    // Only before a later wave than the one the run is in.
    expect(() => journal!.pauseRun(run.id, 1_000_000, 0)).toThrow(/cannot pause before batch 0 \(in batch 0\)/);
    // The next wave's first stage ends it.
    expect(journal.advanceRun(run.id, 0, 1)).toMatchObject({ currentBatch: 1, pause: null });
    expect(journal.getRun(run.id)?.pause).toBeNull();
    // A run that ends while paused (a cancel during the pause) is not paused any more.
    journal.pauseRun(run.id, 2_000_000, 2);
    const finished = journal.finishRun(run.id, 'CANCELLED');
    expect(finished.pause).toBeNull();
    expect(journal.getRun(run.id)).toEqual(finished);
    expect(() => journal!.pauseRun(run.id, 3_000_000, 3)).toThrow(IllegalTransitionError);
  });

  it('a cancel request is recorded once, for a running run only', () => {
    journal = engine.open();
    const { run } = journal.createRun(newRun(['web1']));
    const version = journal.version();
    expect(journal.requestCancel(run.id).cancelRequested).toBe(true);
    expect(journal.requestCancel(run.id).cancelRequested).toBe(true);
    expect(journal.changesSince(version).map((c) => c.change.type)).toEqual(['pipeline_updated']);
    journal.finishRun(run.id, 'CANCELLED');
    const after = journal.version();
    journal.requestCancel(run.id);
    expect(journal.version()).toBe(after);
    expect(() => journal!.requestCancel('r42')).toThrow(/no run with id r42/);
  });
});

describe.each(ENGINES)('rollback commands on $name', (engine) => {
  it('a rollback is a new PENDING command in the failed one’s run, host, stage and op, linked to it', () => {
    journal = engine.open();
    const { run, commands } = journal.createRun(newRun(['web1'], ['pull', 'switch']));
    const failed = commands[0]!;
    journal.transitionCommand(failed.id, 'VALIDATING');
    journal.transitionCommand(failed.id, 'EXECUTING');
    const armed = journal.setArmed(failed.id, 60_000, 'armed');
    expect(armed.armed).toEqual({ delayMs: 60_000, state: 'armed' });
    journal.transitionCommand(failed.id, 'ERROR', { exitCode: 1 });
    const version = journal.version();
    const rollback = journal.addRollback(failed.id);
    expect(rollback).toMatchObject({
      id: 'c3',
      runId: run.id,
      hostId: 'web1',
      stage: 0,
      op: 'pull',
      status: 'PENDING',
      rollbackOf: failed.id,
      armed: null,
    });
    expect(journal.getCommand(rollback.id)).toEqual(rollback);
    expect(journal.getCommand(failed.id)?.armed).toEqual({ delayMs: 60_000, state: 'armed' });
    expect(journal.changesSince(version)).toEqual([
      { version: version + 1, change: { type: 'command_progress', command: rollback } },
    ]);
    expect(() => journal!.addRollback('c999')).toThrow(/no command c999/);
  });
});

describe.each(ENGINES)('kill requests and recorded processes on $name', (engine) => {
  it('a per-host kill is recorded once and the run goes on; a run kill also cancels it (CORE-011)', () => {
    journal = engine.open();
    const { run, commands } = journal.createRun(newRun(['web1', 'web2']));
    const version = journal.version();
    expect(journal.requestCancel(run.id, { hostId: 'web2' })).toMatchObject({
      killHosts: ['web2'],
      cancelRequested: false,
      killRequested: false,
    });
    expect(journal.requestCancel(run.id, { hostId: 'web2' }).killHosts).toEqual(['web2']);
    expect(journal.requestCancel(run.id, { kill: true })).toMatchObject({ cancelRequested: true, killRequested: true });
    expect(journal.changesSince(version).map((c) => c.change.type)).toEqual(['pipeline_updated', 'pipeline_updated']);
    expect(journal.getRun(run.id)).toMatchObject({ killHosts: ['web2'], killRequested: true });

    const before = journal.version();
    journal.recordProcess(commands[0]!.id, { group: 4242, startedAt: 7, remoteGroup: 99, tag: 'nixfleet-x' });
    expect(journal.version()).toBe(before);
    expect(() => journal!.recordProcess('c999', { group: 1, startedAt: null })).toThrow(/no command with id c999/);
  });
});
