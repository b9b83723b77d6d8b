import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startRun } from '../../src/engine/run.js';
import type { RunEvent } from '../../src/engine/types.js';
import { CONTROLLER_HOST_ID } from '../../src/registry/types.js';
import { HostsBusyError } from '../../src/store/hosts-busy-error.js';
import { openJournal } from '../../src/store/journal.js';
import type { Journal } from '../../src/store/types.js';
import { makeTempDir } from '../support/cli.js';
import { handPlan } from './support/hand-plan.js';
import { waitFor, waitForFile } from './support/wait-for.js';

const open: Journal[] = [];
function setup() {
  const dir = makeTempDir({}, 'nixfleet-engine-');
  const journal = openJournal(join(dir, '.nixfleet'));
  open.push(journal);
  return { dir, journal };
}
afterEach(() => {
  for (const j of open.splice(0)) j.close();
});

const statusesOf = (journal: Journal, runId: string) =>
  Object.fromEntries(journal.listCommands({ runId }).map((c) => [`${c.stage}:${c.hostId}`, c.status]));

describe('a pipeline with && semantics', () => {
  it('runs every stage on every host: COMPLETE, exit 0', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(
      dir,
      ['a', 'b'],
      [
        { id: 'one', run: 'echo one-$NIXFLEET_HOST' },
        { id: 'two', run: 'echo two-$NIXFLEET_HOST >> "$NIXFLEET_HOST.out"' },
      ],
    );
    const events: RunEvent[] = [];
    const run = await startRun(plan, { journal, actor: 'test', onEvent: (e) => events.push(e) });
    const outcome = await run.done;
    expect(outcome).toEqual({ runId: run.runId, status: 'COMPLETE', exitCode: 0 });
    expect(statusesOf(journal, run.runId)).toEqual({
      '0:a': 'SUCCESS',
      '0:b': 'SUCCESS',
      '1:a': 'SUCCESS',
      '1:b': 'SUCCESS',
    });
    expect(readFileSync(join(dir, 'b.out'), 'utf8')).toBe('two-b\n');
    expect(journal.getRun(run.runId)).toMatchObject({ status: 'COMPLETE', registryHash: 'hand-built' });
    const first = journal.listCommands({ runId: run.runId }).find((c) => c.stage === 0 && c.hostId === 'a')!;
    expect(readFileSync(first.outputFile!, 'utf8')).toBe('one-a\n');
    expect(events[0]?.type).toBe('run_started');
    expect(events.at(-1)).toMatchObject({ type: 'run_finished', status: 'COMPLETE' });
    expect(
      events.filter((e) => e.type === 'command_output').map((e) => e.type === 'command_output' && e.chunk),
    ).toContain('one-a\n');
  });

  it('a host that fails stage 1 is SKIPPED for stage 2 and 3: PARTIAL, exit 1', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(
      dir,
      ['a', 'b'],
      [
        { id: 'one', run: (h) => (h === 'b' ? 'exit 7' : 'true') },
        { id: 'two', run: 'true' },
        { id: 'three', run: 'true' },
      ],
    );
    const run = await startRun(plan, { journal, actor: 'test' });
    expect(await run.done).toMatchObject({ status: 'PARTIAL', exitCode: 1 });
    expect(statusesOf(journal, run.runId)).toEqual({
      '0:a': 'SUCCESS',
      '0:b': 'ERROR',
      '1:a': 'SUCCESS',
      '1:b': 'SKIPPED',
      '2:a': 'SUCCESS',
      '2:b': 'SKIPPED',
    });
    const failed = journal.listCommands({ runId: run.runId }).find((c) => c.hostId === 'b' && c.stage === 0)!;
    expect(failed).toMatchObject({ exitCode: 7, error: 'exit code 7' });
  });

  it('every host failing is FAILED', async () => {
    const { dir, journal } = setup();
    const run = await startRun(handPlan(dir, ['a', 'b'], [{ id: 'one', run: 'false' }]), { journal, actor: 'test' });
    expect(await run.done).toMatchObject({ status: 'FAILED', exitCode: 1 });
  });

  it('a precheck blocking every host is exit 3 and the op never runs', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(dir, ['a', 'b'], [{ id: 'one', precheck: 'test -f missing', run: 'touch ran' }]);
    const run = await startRun(plan, { journal, actor: 'test' });
    expect(await run.done).toMatchObject({ status: 'FAILED', exitCode: 3 });
    expect(statusesOf(journal, run.runId)).toEqual({ '0:a': 'BLOCKED', '0:b': 'BLOCKED' });
    expect(journal.listCommands({ runId: run.runId })[0]?.error).toBe('precheck failed (exit 1)');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('a failing postcheck after a good run is ERROR with the reason', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(dir, ['a'], [{ id: 'one', run: 'true', postcheck: 'exit 4' }]);
    const run = await startRun(plan, { journal, actor: 'test' });
    expect(await run.done).toMatchObject({ status: 'FAILED' });
    expect(journal.listCommands({ runId: run.runId })[0]).toMatchObject({
      status: 'ERROR',
      exitCode: 4,
      error: 'postcheck failed (exit 4)',
    });
  });

  it('a retryable op is retried automatically, the attempt journaled', async () => {
    const { dir, journal } = setup();
    // Fails on the first two attempts, succeeds on the third.
    const plan = handPlan(
      dir,
      ['a'],
      [{ id: 'flaky', run: 'echo x >> tries; test $(wc -l < tries) -ge 3', retryable: true, retries: 2 }],
    );
    const events: RunEvent[] = [];
    const run = await startRun(plan, { journal, actor: 'test', onEvent: (e) => events.push(e) });
    expect(await run.done).toMatchObject({ status: 'COMPLETE' });
    expect(journal.listCommands({ runId: run.runId })[0]).toMatchObject({ status: 'SUCCESS', attempt: 3 });
    const executing = events.filter((e) => e.type === 'command_status' && e.status === 'EXECUTING');
    expect(executing.map((e) => e.type === 'command_status' && e.attempt)).toEqual([1, 2, 3]);
    expect(journal.listEvents().filter((e) => e.action === 'retry')).toHaveLength(2);
  });

  it('a controller op runs once per stage; when it fails every host is SKIPPED', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(
      dir,
      ['a', 'b'],
      [
        { id: 'build', run: 'echo built >> controller.out', runsOn: 'controller' },
        { id: 'gate', run: 'exit 1', runsOn: 'controller' },
        { id: 'deploy', run: 'true' },
      ],
    );
    const run = await startRun(plan, { journal, actor: 'test' });
    expect(await run.done).toMatchObject({ status: 'FAILED' });
    expect(readFileSync(join(dir, 'controller.out'), 'utf8')).toBe('built\n');
    expect(statusesOf(journal, run.runId)).toEqual({
      [`0:${CONTROLLER_HOST_ID}`]: 'SUCCESS',
      [`1:${CONTROLLER_HOST_ID}`]: 'ERROR',
      '2:a': 'SKIPPED',
      '2:b': 'SKIPPED',
    });
  });

  it('a busy host refuses a second run before it starts, journaling nothing', async () => {
    const { dir, journal } = setup();
    const first = await startRun(handPlan(dir, ['a', 'b'], [{ id: 'one', run: 'sleep 0.3' }]), {
      journal,
      actor: 'test',
    });
    const before = journal.listRuns().length;
    await expect(
      startRun(handPlan(dir, ['b'], [{ id: 'one', run: 'true' }]), { journal, actor: 'test' }),
    ).rejects.toThrow(HostsBusyError);
    expect(journal.listRuns()).toHaveLength(before);
    await first.done;
  });
});

describe('cancellation', () => {
  it('cancel lets running commands finish and cancels pending ones', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(
      dir,
      ['a', 'b', 'c'],
      [
        { id: 'one', run: 'touch "$NIXFLEET_HOST.started"; sleep 1' },
        { id: 'two', run: 'true' },
      ],
    );
    const run = await startRun(plan, { journal, actor: 'test', concurrency: 2 });
    await waitForFile(join(dir, 'a.started'));
    await waitForFile(join(dir, 'b.started'));
    run.cancel();
    expect(await run.done).toMatchObject({ status: 'CANCELLED', exitCode: 130 });
    expect(statusesOf(journal, run.runId)).toEqual({
      '0:a': 'SUCCESS',
      '0:b': 'SUCCESS',
      '0:c': 'CANCELLED',
      '1:a': 'CANCELLED',
      '1:b': 'CANCELLED',
      '1:c': 'CANCELLED',
    });
  });

  it('cancel with kill kills running commands: CANCELLED', async () => {
    const { dir, journal } = setup();
    const run = await startRun(handPlan(dir, ['a'], [{ id: 'one', run: 'sleep 5' }]), { journal, actor: 'test' });
    const started = Date.now();
    setTimeout(() => run.cancel({ kill: true }), 150);
    expect(await run.done).toMatchObject({ status: 'CANCELLED' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(statusesOf(journal, run.runId)).toEqual({ '0:a': 'CANCELLED' });
  });

  it('a cancel requested in the journal (another process) is honoured within a second', async () => {
    const { dir, journal } = setup();
    const plan = handPlan(
      dir,
      ['a'],
      [
        { id: 'one', run: 'sleep 0.2' },
        { id: 'two', run: 'sleep 0.2' },
        { id: 'three', run: 'sleep 0.2' },
        { id: 'four', run: 'sleep 0.2' },
        { id: 'five', run: 'sleep 0.2' },
      ],
    );
    const run = await startRun(plan, { journal, actor: 'test' });
    const other = openJournal(journal.dataDir);
    open.push(other);
    await new Promise((r) => setTimeout(r, 100));
    const askedAt = Date.now();
    other.requestCancel(run.runId);
    expect(await run.done).toMatchObject({ status: 'CANCELLED' });
    expect(Date.now() - askedAt).toBeLessThan(1000);
    expect(Object.values(statusesOf(journal, run.runId))).toContain('CANCELLED');
  });
});

describe('a journal write that fails in the executor', () => {
  // CORE-002: nothing more can be recorded, so nothing more may run. The write here is the executor's
  // own (SKIPPED for the host that failed), not a command's: the command still running elsewhere
  // is killed, and the run ends with the failure once it stopped.
  it('kills what runs and ends the run with the failure', async () => {
    const { dir, journal } = setup();
    const failing = new Proxy(journal, {
      get(target, name, receiver) {
        if (name === 'transitionCommand') {
          return (id: string, to: string, ...rest: unknown[]) => {
            if (to === 'SKIPPED') throw new Error('disk I/O error (injected)');
            return (target.transitionCommand as (...args: unknown[]) => unknown)(id, to, ...rest);
          };
        }
        const value = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    const plan = handPlan(
      dir,
      ['a', 'b'],
      [
        {
          id: 'one',
          run: (h) =>
            h === 'a' ? 'until [ -e b.pid ]; do sleep 0.01; done; exit 7' : 'echo $$ > b.pid; exec sleep 60',
        },
        { id: 'two', run: 'true' },
      ],
    );
    const run = await startRun(plan, { journal: failing, actor: 'test' });
    await expect(run.done).rejects.toThrow('disk I/O error (injected)');
    const pid = Number(readFileSync(join(dir, 'b.pid'), 'utf8'));
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await waitFor(() => !alive(), `b's command (pid ${pid}) to be killed`, 10_000);
    expect(statusesOf(journal, run.runId)['0:b']).toBe('CANCELLED');
  });
});
