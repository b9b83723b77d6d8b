import { describe, expect, it } from 'vitest';
import type { CommandStatus } from '../../src/domain/status.js';
import { planRetry } from '../../src/engine/retry-plan.js';
import { CONTROLLER_HOST_ID } from '../../src/registry/types.js';
import type { CommandRecord, RunRecord } from '../../src/store/types.js';

const run = { id: 'r1', hosts: ['a', 'b', 'c'], stages: ['x', 'y', 'z'] } as unknown as RunRecord;
let next = 1;
const command = (hostId: string, stage: number, status: CommandStatus, started = true): CommandRecord => ({
  id: `c${next++}`,
  runId: 'r1',
  hostId,
  op: run.stages[stage]!,
  stage,
  status,
  attempt: 1,
  createdAt: 0,
  startedAt: started ? 1 : null,
  finishedAt: 2,
  exitCode: null,
  error: null,
  outputFile: null,
  batch: null,
  rollbackOf: null,
  armed: null,
});

describe('what retry runs again', () => {
  it('each host that did not complete, from the stage where it stopped', () => {
    const plan = planRetry(run, [
      command('a', 0, 'SUCCESS'),
      command('a', 1, 'SUCCESS'),
      command('a', 2, 'SUCCESS'),
      command('b', 0, 'SUCCESS'),
      command('b', 1, 'ERROR'),
      command('b', 2, 'SKIPPED', false),
      command('c', 0, 'BLOCKED'),
      command('c', 1, 'SKIPPED', false),
      command('c', 2, 'SKIPPED', false),
    ]);
    expect([...plan.fromStage]).toEqual([
      ['b', 1],
      ['c', 0],
    ]);
    // The BLOCKED precheck never ran the op, so only b's ERROR counts as something that ran.
    expect(plan.rerun.map((c) => [c.hostId, c.op])).toEqual([['b', 'y']]);
  });

  it('a failed controller op stops every host at its stage', () => {
    const plan = planRetry(run, [
      command('a', 0, 'SUCCESS'),
      command('b', 0, 'SUCCESS'),
      command('c', 0, 'SUCCESS'),
      command(CONTROLLER_HOST_ID, 1, 'TIMEOUT'),
      command('a', 2, 'SKIPPED', false),
      command('b', 2, 'SKIPPED', false),
      command('c', 2, 'SKIPPED', false),
    ]);
    expect([...plan.fromStage.values()]).toEqual([1, 1, 1]);
  });

  it('commands cancelled before they started are safe to run; killed ones are not', () => {
    const plan = planRetry(run, [command('a', 0, 'CANCELLED', false), command('b', 0, 'CANCELLED', true)]);
    expect(plan.rerun.map((c) => c.hostId)).toEqual(['b']);
  });
});
