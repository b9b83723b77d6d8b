// The terminal view's frame (see CORE-002, the terminal view) for rollouts (CORE-008) and
// rollbacks (CORE-009), folded from RunEvents as the tty renderer does: batch labels survive the
// compact forms a small terminal forces, and a failed host's line stays open while its rollback
// runs.
import { describe, expect, it } from 'vitest';
import type { RolloutPlan } from '../../src/engine/rollout/rollout-plan.js';
import type { RunEvent } from '../../src/engine/types.js';
import { finalFrame, liveFrame } from '../../src/ui/fleet-frame.js';
import { recapLines } from '../../src/ui/run-recap.js';
import { applyRunEvent, createRunView, type RunView } from '../../src/ui/run-view.js';

const SPINNER = /^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] /;

function status(commandId: string, hostId: string, s: string, extra: Partial<RunEvent> = {}): RunEvent {
  return {
    type: 'command_status',
    runId: 'r1',
    commandId,
    hostId,
    op: 'deploy',
    stage: 0,
    status: s as never,
    attempt: 1,
    exitCode: null,
    error: null,
    durationMs: null,
    at: 1000,
    ...extra,
  } as RunEvent;
}

function viewOf(events: readonly RunEvent[]): RunView {
  const view = createRunView();
  for (const event of events) applyRunEvent(view, event);
  return view;
}

// Three waves: h1 the canary, then h2, h3, h4 in batch 1 and h5 in batch 2.
const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5'];
const BATCH = [0, 1, 1, 1, 2];
const ROLLOUT = {
  waves: [
    { batch: 0, hosts: ['h1'] },
    { batch: 1, hosts: ['h2', 'h3', 'h4'] },
    { batch: 2, hosts: ['h5'] },
  ],
  batches: 2,
} as unknown as RolloutPlan;

const started = (rollout?: RolloutPlan): RunEvent => ({
  type: 'run_started',
  runId: 'r1',
  target: 'ship',
  hosts: HOSTS,
  stages: ['deploy'],
  commands: HOSTS.map((hostId, i) => ({ commandId: `c${i + 1}`, stage: 0, hostId, op: 'deploy', batch: BATCH[i] })),
  ...(rollout ? { rollout } : {}),
  at: 1000,
});

describe('the terminal frame', () => {
  it('names each host’s batch, at full detail and in the compact form', () => {
    const view = viewOf([
      started(ROLLOUT),
      { type: 'stage_started', runId: 'r1', stage: 0, op: 'deploy', batch: 1, at: 1000 },
      status('c1', 'h1', 'SUCCESS', { durationMs: 100, exitCode: 0 }),
      status('c2', 'h2', 'ERROR', { durationMs: 100, exitCode: 3, error: 'exit code 3' }),
      status('c3', 'h3', 'EXECUTING'),
      status('c4', 'h4', 'EXECUTING'),
    ]);
    const full = liveFrame(view, { rows: 40, columns: 120 }, 2000, 0).join('\n');
    expect(full).toContain('✖ h2 [batch 1/2] deploy ERROR: exit code 3 (0.1s)');
    expect(full).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] h3 \[batch 1\/2\] 1\.0s/);
    // Three rows for the frame: the running hosts fold onto one line, their labels kept.
    const compact = liveFrame(view, { rows: 4, columns: 120 }, 2000, 0);
    expect(compact).toHaveLength(3);
    expect(compact[2]).toMatch(/^ +[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] h3 \[batch 1\/2\] 1\.0s, h4 \[batch 1\/2\] 1\.0s$/);
    // Without a rollout there is no label at all.
    const plain = viewOf([started(), status('c2', 'h2', 'ERROR', { error: 'exit code 3' })]);
    expect(liveFrame(plain, { rows: 40, columns: 120 }, 2000, 0).join('\n')).not.toContain('[batch');
  });

  it('keeps a failed host open while its rollback runs, then says how the rollback ended', () => {
    const failing = [
      started(),
      { type: 'stage_started', runId: 'r1', stage: 0, op: 'deploy', at: 1000 } as RunEvent,
      status('c1', 'h1', 'SUCCESS', { durationMs: 100, exitCode: 0 }),
      status('c3', 'h3', 'SUCCESS', { durationMs: 100, exitCode: 0 }),
      status('c4', 'h4', 'SUCCESS', { durationMs: 100, exitCode: 0 }),
      status('c5', 'h5', 'SUCCESS', { durationMs: 100, exitCode: 0 }),
      status('c2', 'h2', 'ERROR', { durationMs: 100, exitCode: 3, error: 'exit code 3', rollbackId: 'c9' }),
    ];
    // Announced but not started yet: already rolling back, the stage not over.
    const announced = liveFrame(viewOf(failing), { rows: 40, columns: 120 }, 2000, 0);
    expect(announced[0]).toMatch(SPINNER);
    expect(announced[0]).toContain('1 rolling back');
    expect(announced.join('\n')).toContain('✖ h2 deploy ERROR: exit code 3 (0.1s), rolling back');

    const rolling = [
      ...failing,
      status('c9', 'h2', 'EXECUTING', { rollbackOf: 'c2' }),
      {
        type: 'command_output',
        runId: 'r1',
        commandId: 'c9',
        hostId: 'h2',
        stage: 0,
        chunk: 'undoing h2\n',
      } as RunEvent,
    ];
    const live = liveFrame(viewOf(rolling), { rows: 40, columns: 120 }, 2000, 0).join('\n');
    expect(live).toContain('↺ undoing h2');
    // The rollback is not a host of the stage: the counts stay four ok, one failed.
    expect(live).toMatch(/4 ok · 1 failed · 1 rolling back/);

    const failed = viewOf([
      ...rolling,
      status('c9', 'h2', 'ERROR', {
        rollbackOf: 'c2',
        durationMs: 200,
        exitCode: 9,
        error: 'rollback failed (exit 9)',
      }),
      { type: 'run_finished', runId: 'r1', status: 'PARTIAL', at: 3000 } as RunEvent,
    ]);
    const end = finalFrame(failed, 120).join('\n');
    expect(end.split('\n')[0]).toMatch(/^✖ 1\/1 deploy {2}4 ok · 1 failed$/);
    expect(end).toContain('✖ h2 deploy ERROR: exit code 3 (0.1s), rollback ERROR (0.2s): h2 needs a person');
    expect(end).toContain('h2: rollback c9 ERROR: rollback failed (exit 9)');
    expect(end).toContain('| undoing h2');
    const recap = recapLines(failed).join('\n');
    expect(recap).toMatch(/h2\s+ok=0\s+failed=1\s+skipped=0\s+deploy ERROR: exit code 3, rollback ERROR/);
  });

  it('says a rollout is paused before its next wave, counting down', () => {
    const view = viewOf([
      started(ROLLOUT),
      status('c1', 'h1', 'SUCCESS', { durationMs: 100, exitCode: 0 }),
      { type: 'batch_started', runId: 'r1', batch: 0, hosts: ['h1'], batches: 2, at: 1000 },
      { type: 'rollout_paused', runId: 'r1', nextWave: 'batch 1/2', until: 1000 + 120_000, ms: 120_000, at: 1000 },
    ]);
    expect(liveFrame(view, { rows: 40, columns: 120 }, 55_500, 0)[0]).toBe(
      'rollout: paused 2m before batch 1/2 (1m06s left)',
    );
    expect(liveFrame(view, { rows: 40, columns: 120 }, 119_900, 0)[0]).toBe(
      'rollout: paused 2m before batch 1/2 (2s left)',
    );
    applyRunEvent(view, {
      type: 'batch_started',
      runId: 'r1',
      batch: 1,
      hosts: ['h2', 'h3', 'h4'],
      batches: 2,
      at: 2000,
    });
    expect(liveFrame(view, { rows: 40, columns: 120 }, 121_000, 0)[0]).toBe('rollout: batch 1/2');
  });

  it('in the compact form, long host names are shortened and past eight hosts three are named with a count', () => {
    const hosts = Array.from(
      { length: 30 },
      (_, i) => `web-frontend-production-eu-west-1-zone-b-${String(i).padStart(3, '0')}`,
    );
    const view = viewOf([
      {
        type: 'run_started',
        runId: 'r1',
        target: 'ship',
        hosts,
        stages: ['deploy'],
        commands: hosts.map((hostId, i) => ({ commandId: `c${i + 1}`, stage: 0, hostId, op: 'deploy', batch: null })),
        at: 1000,
      } as RunEvent,
      ...hosts.map((host, i) =>
        i < 20
          ? status(`c${i + 1}`, host, 'ERROR', { durationMs: 100, exitCode: 1, error: 'exit code 1' })
          : status(`c${i + 1}`, host, 'EXECUTING'),
      ),
    ]);
    // Four rows: the stage, the failed hosts on one line, the running ones on another.
    const [, failed, running] = liveFrame(view, { rows: 4, columns: 80 }, 2000, 0);
    // Before: every name whole, `    ✖ web-frontend-production-eu-west-1-zone-b-000 (exit code 1), web-…`
    // cut at the edge, so one host and no reason.
    expect(failed).toBe('    ✖ web-fr…b-000 (exit code 1), web-front…one-b-001 (exit code 1) and 18 more');
    expect(running).toMatch(/^ {4}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] web-.*-020 1\.0s, web-.*-021 1\.0s, web-.*-022 1\.0s and 7 more$/);
  });

  it('at narrow widths shortens the op name, keeping the batch label, status and reason', () => {
    const op = 'deploy-the-whole-stack';
    const begin = started(ROLLOUT) as Extract<RunEvent, { type: 'run_started' }>;
    const view = viewOf([
      { ...begin, stages: [op], commands: begin.commands!.map((c) => ({ ...c, op })) },
      status('c2', 'h2', 'ERROR', { durationMs: 100, exitCode: 3, error: 'exit code 3' }),
    ]);
    const line = liveFrame(view, { rows: 40, columns: 62 }, 2000, 0)[1];
    expect(line).toBe('    ✖ h2 [batch 1/2] deploy-…-stack ERROR: exit code 3 (0.1s)');
    expect(line!.length).toBe(61);
  });
});
