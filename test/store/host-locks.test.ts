// CORE-003: a host runs one command at a time across every journal sharing the data directory;
// a busy host blocks the whole new run and nothing of it is written.
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { CONTROLLER_HOST_ID } from '../../src/registry/types.js';
import { HostsBusyError } from '../../src/store/hosts-busy-error.js';
import { openJournal } from '../../src/store/journal.js';
import { currentOwner } from '../../src/store/owner.js';
import { ENGINES } from './engines.js';
import { newRun, tempDataDir } from './new-run.js';

/** Above Linux's largest pid_max (2^22), so no process can have it. */
const DEAD_PID = 2 ** 30;

describe.each(ENGINES)('host locks on $name', (engine) => {
  it('a second run on a busy host is refused, naming the holder, and writes nothing', () => {
    const store = engine.newStore();
    const first = engine.open({}, store);
    const second = engine.open({}, store);
    const held = first.createRun(newRun(['web1', 'web2']));
    const version = second.version();
    let error: unknown;
    try {
      second.createRun(newRun(['web3', 'web2']));
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(HostsBusyError);
    expect((error as HostsBusyError).busy).toEqual([{ hostId: 'web2', runId: 'r1', commandId: held.commands[1]!.id }]);
    expect(second.version()).toBe(version);
    expect(second.listRuns()).toHaveLength(1);
    // The refused run consumed no ids.
    expect(second.createRun(newRun(['web3'])).run.id).toBe('r2');
    first.close();
    second.close();
  });

  it('a host is free again once its command finished, even while the run goes on', () => {
    const journal = engine.open();
    const { commands } = journal.createRun(newRun(['web1', 'web2']));
    expect(() => journal.createRun(newRun(['web1']))).toThrow(HostsBusyError);
    journal.transitionCommand(commands[0]!.id, 'SKIPPED');
    expect(journal.createRun(newRun(['web1'])).run.id).toBe('r2');
    expect(() => journal.createRun(newRun(['web2']))).toThrow(HostsBusyError);
    journal.close();
  });

  it('a finished run holds nothing, whatever its commands were left at', () => {
    const journal = engine.open();
    const { run } = journal.createRun(newRun(['web1'], ['pull', 'switch']));
    journal.finishRun(run.id, 'FAILED');
    expect(journal.createRun(newRun(['web1'])).run.status).toBe('RUNNING');
    journal.close();
  });

  it('controller commands never lock', () => {
    const journal = engine.open();
    const controllerOnly = {
      ...newRun([], ['build']),
      commands: [{ stage: 0, hostId: CONTROLLER_HOST_ID, op: 'build' }],
    };
    journal.createRun(controllerOnly);
    expect(journal.createRun(controllerOnly).run.id).toBe('r2');
    journal.close();
  });

  it('a dead owner’s hold is recovered by the claim itself: its work becomes ORPHANED and the host is taken', () => {
    const store = engine.newStore();
    // A journal that closes gives its owner up (on SQLite its pid is dead, on PostgreSQL its lease is released).
    const dead = engine.open({ owner: { pid: DEAD_PID, hostname: hostname(), startedAt: 1 } }, store);
    const stale = dead.createRun(newRun(['web1']));
    dead.close();
    const local = engine.open({}, store);
    expect(local.createRun(newRun(['web1'])).run.id).toBe('r2');
    expect(local.getRun(stale.run.id)?.status).toBe('ORPHANED');
    expect(local.getCommand(stale.commands[0]!.id)?.status).toBe('ORPHANED');
    local.close();
  });
});

describe('host locks on SQLite', () => {
  it('a host held by an owner on another machine stays busy (we cannot check it) and is never orphaned', () => {
    const dataDir = tempDataDir();
    const remote = openJournal(dataDir, { owner: { pid: DEAD_PID, hostname: `${hostname()}-other`, startedAt: 1 } });
    remote.createRun(newRun(['web1']));
    remote.close();
    const local = openJournal(dataDir);
    expect(() => local.createRun(newRun(['web1']))).toThrow(HostsBusyError);
    expect(local.recoverOrphans()).toEqual({ runs: 0, commands: 0 });
    expect(local.getRun('r1')?.status).toBe('RUNNING');
    local.close();
  });

  it("a dead owner's hold is recovered by the claim itself: its work becomes ORPHANED and the host is taken", () => {
    const dataDir = tempDataDir();
    const dead = openJournal(dataDir, { owner: { pid: DEAD_PID, hostname: hostname(), startedAt: 1 } });
    const local = openJournal(dataDir);
    const stale = dead.createRun(newRun(['web1']));
    const { run } = local.createRun(newRun(['web1']));
    expect(run.id).toBe('r2');
    expect(local.getRun(stale.run.id)?.status).toBe('ORPHANED');
    expect(local.getCommand(stale.commands[0]!.id)?.status).toBe('ORPHANED');
    expect(local.listEvents()[0]).toMatchObject({ category: 'recovery', level: 'warn' });
    dead.close();
    local.close();
  });

  it('a reused pid is not the owner: same pid, different start time, means dead', () => {
    const dataDir = tempDataDir();
    const me = currentOwner();
    const impostor = openJournal(dataDir, { owner: { ...me, startedAt: me.startedAt - 3_600_000 } });
    impostor.createRun(newRun(['web1']));
    const local = openJournal(dataDir);
    expect(local.getRun('r1')?.status).toBe('ORPHANED');
    expect(local.createRun(newRun(['web1'])).run.owner).toEqual(me);
    impostor.close();
    local.close();
  });
});
