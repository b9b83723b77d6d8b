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
import { openJournal } from '../../src/store/journal.js';
import type { Journal } from '../../src/store/types.js';
import { fakeClock, newRun, tempDataDir } from './new-run.js';

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

// One journal for the whole machine walk: each case gets its own host, so no lock is in the way.
const shared = { clock: fakeClock(), journal: undefined as Journal | undefined, hosts: 0 };
afterAll(() => shared.journal?.close());

function commandAt(status: CommandStatus) {
  const clock = shared.clock;
  shared.journal ??= openJournal(tempDataDir(), { now: clock.now });
  const journal = shared.journal;
  const { commands } = journal.createRun(newRun([`h${shared.hosts++}`]));
  const id = commands[0]!.id;
  for (const step of PATH_TO[status]) {
    clock.advance(10);
    journal.transitionCommand(id, step);
  }
  return { id, journal, clock };
}

describe('command transitions', () => {
  it('covers the whole machine: 10 statuses, legal and illegal pairs', () => {
    expect(LEGAL.length + ILLEGAL.length).toBe(100);
    expect(LEGAL.length).toBeGreaterThan(15);
  });

  it.each(LEGAL)('%s -> %s is journaled with its change', (from, to) => {
    const { id, journal: j, clock } = commandAt(from);
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
    const { id, journal: j } = commandAt(from);
    const before = j.getCommand(id);
    const version = j.version();
    expect(() => j.transitionCommand(id, to)).toThrow(IllegalTransitionError);
    expect(j.getCommand(id)).toEqual(before);
    expect(j.version()).toBe(version);
  });

  it('an automatic retry (EXECUTING -> EXECUTING) raises the attempt and clears the last failure', () => {
    const { id, journal: j } = commandAt('EXECUTING');
    j.transitionCommand(id, 'EXECUTING', { exitCode: 1, error: 'exit 1' });
    const retried = j.transitionCommand(id, 'EXECUTING');
    expect(retried).toMatchObject({ attempt: 3, exitCode: null, error: null });
    expect(j.transitionCommand(id, 'SUCCESS', { exitCode: 0 })).toMatchObject({ attempt: 3, exitCode: 0 });
  });

  it('an unknown command id is an error, not a silent no-op', () => {
    const { journal: j } = commandAt('PENDING');
    expect(() => j.transitionCommand('c999', 'VALIDATING')).toThrow(/no command with id c999/);
  });
});

describe('run transitions', () => {
  it('a run advances through its stages and finishes once', () => {
    const clock = fakeClock();
    journal = openJournal(tempDataDir(), { now: clock.now });
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

  it('a cancel request is recorded once, for a running run only', () => {
    journal = openJournal(tempDataDir());
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
