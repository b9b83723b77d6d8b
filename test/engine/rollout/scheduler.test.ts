// CORE-008: the rollout scheduler. A small driver plays a run against it: it applies every
// decision, finishes running commands one at a time with the outcome the test says, and records
// what started when, so each rule is checked on the order of events. Every run is played twice:
// with a fresh decision over all commands each time, and with one schedule told of each change as
// the executor keeps it; both must give the same events.
import { describe, expect, it } from 'vitest';
import type { CommandStatus } from '../../../src/domain/status.js';
import type { RolloutPlan } from '../../../src/engine/rollout/rollout-plan.js';
import { createSchedule, decide, type ScheduledCommand, stopReason } from '../../../src/engine/rollout/scheduler.js';

interface Sim extends ScheduledCommand {
  status: CommandStatus;
  started: boolean;
  reason: string | null;
}

const hosts = (n: number) => Array.from({ length: n }, (_, i) => `h${i + 1}`);

function rollout(waves: string[][], options: { canary?: boolean; maxFailures?: number } = {}): RolloutPlan {
  return {
    strategy: 'batches',
    canary: options.canary ? waves[0]! : [],
    batches: waves.length - (options.canary ? 1 : 0),
    maxFailures: options.maxFailures ?? null,
    maxFailuresSpec: options.maxFailures === undefined ? null : String(options.maxFailures),
    pauseMs: 0,
    waves: waves.map((members, i) => ({ batch: options.canary ? i : i + 1, hosts: members })),
  };
}

/** How a command ends: `true` ERROR, `false` SUCCESS, or the status given. */
type Outcome = (host: string, stage: number) => boolean | CommandStatus;

/** Plays the run both ways; `fails(host, stage)` says how each command ends. */
function play(plan: RolloutPlan, stages: number, slots: number, fails: Outcome) {
  const fresh = playOnce(plan, stages, slots, fails, false);
  const kept = playOnce(plan, stages, slots, fails, true);
  expect(kept.log).toEqual(fresh.log);
  expect(kept.commands).toEqual(fresh.commands);
  expect(kept.stopped).toEqual(fresh.stopped);
  return kept;
}

/** Plays the run once; returns the log, the commands and why the rollout stopped. */
function playOnce(plan: RolloutPlan, stages: number, slots: number, fails: Outcome, keepSchedule: boolean) {
  const commands: Sim[] = [];
  let next = 1;
  for (const wave of plan.waves) {
    for (let stage = 0; stage < stages; stage++) {
      for (const hostId of wave.hosts) {
        commands.push({
          id: `c${next++}`,
          stage,
          hostId,
          batch: wave.batch,
          status: 'PENDING',
          started: false,
          reason: null,
        });
      }
    }
  }
  const byId = new Map(commands.map((c) => [c.id, c]));
  const released = new Set<number>();
  const running: Sim[] = [];
  const log: string[] = [];
  let stopped: string | null = null;
  const schedule = createSchedule(plan, commands);
  const changed = (c: Sim) => keepSchedule && schedule.update(c);
  for (let guard = 0; guard < 10_000; guard++) {
    const d = keepSchedule
      ? schedule.decide(released, slots - running.length)
      : decide(plan, commands, released, slots - running.length);
    stopped ??= d.stopped;
    for (const s of d.skip) changed(Object.assign(byId.get(s.id)!, { status: 'SKIPPED' as const, reason: s.reason }));
    if (d.release) {
      released.add(d.release.batch);
      log.push(`release ${d.release.batch}`);
      continue;
    }
    for (const id of d.start) {
      const c = byId.get(id)!;
      c.started = true;
      running.push(c);
      log.push(`start ${c.hostId}/${c.stage}`);
    }
    if (d.start.length > 0 || d.skip.length > 0) continue;
    const done = running.shift();
    if (!done) return { log, commands, stopped };
    const outcome = fails(done.hostId, done.stage);
    done.status = outcome === true ? 'ERROR' : outcome === false ? 'SUCCESS' : outcome;
    changed(done);
    log.push(`end ${done.hostId}/${done.stage}`);
  }
  throw new Error('the scheduler never finished');
}

/** Index in the log of the first / last entry matching. */
const first = (log: string[], re: RegExp) => log.findIndex((l) => re.test(l));
const last = (log: string[], re: RegExp) => log.length - 1 - [...log].reverse().findIndex((l) => re.test(l));

describe('the rollout scheduler (CORE-008)', () => {
  it('runs the canary alone through every stage, then each batch through every stage before the next', () => {
    const all = hosts(10);
    const plan = rollout([all.slice(0, 1), all.slice(1, 4), all.slice(4, 7), all.slice(7, 10)], { canary: true });
    const { log, commands } = play(plan, 3, 10, () => false);
    expect(commands.every((c) => c.status === 'SUCCESS')).toBe(true);
    expect(log.filter((l) => l.startsWith('release'))).toEqual(['release 0', 'release 1', 'release 2', 'release 3']);
    // The canary's last stage ends before anything else starts.
    expect(last(log, /^end h1\/2$/)).toBeLessThan(first(log, /^start h[2-9]|^start h10/));
    // Batch 1 (h2-h4) finishes stage 3 before batch 2 (h5-h7) starts, and so on.
    expect(last(log, /^end h[2-4]\/2$/)).toBeLessThan(first(log, /^start h[5-7]\//));
    expect(last(log, /^end h[5-7]\/2$/)).toBeLessThan(first(log, /^start (h[89]|h10)\//));
    // Inside a batch the stage barrier holds: stage 2 starts after all of stage 1 ended.
    expect(last(log, /^end h[2-4]\/0$/)).toBeLessThan(first(log, /^start h[2-4]\/1$/));
  });

  it('a failed canary stops the run: nothing else starts, the rest is SKIPPED with the reason', () => {
    const all = hosts(4);
    const plan = rollout([all.slice(0, 1), all.slice(1)], { canary: true });
    const { log, commands, stopped } = play(plan, 2, 10, (host, stage) => host === 'h1' && stage === 1);
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start h1/0', 'start h1/1']);
    expect(stopped).toBe('canary failed on h1: the other hosts were not started');
    const rest = commands.filter((c) => c.hostId !== 'h1');
    expect(rest.every((c) => c.status === 'SKIPPED' && c.reason === stopped)).toBe(true);
  });

  it('a canary whose command was killed on its own (CANCELLED) did not succeed: the rest is not started', () => {
    const all = hosts(3);
    const plan = rollout([all.slice(0, 1), all.slice(1)], { canary: true, maxFailures: 0 });
    const { log, commands, stopped } = play(plan, 2, 10, (host, stage) => host === 'h1' && stage === 0 && 'CANCELLED');
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start h1/0']);
    expect(stopped).toBe('canary cancelled on h1: the other hosts were not started');
    expect(commands.find((c) => c.hostId === 'h1' && c.stage === 1)).toMatchObject({ status: 'SKIPPED', reason: null });
    const rest = commands.filter((c) => c.hostId !== 'h1');
    expect(rest.every((c) => c.status === 'SKIPPED' && c.reason === stopped)).toBe(true);
  });

  it('a canary of every host says so when it fails: there were no other hosts to hold back', () => {
    const all = hosts(3);
    const plan = rollout([all], { canary: true });
    // One at a time: h1 fails while h2 and h3 wait; neither starts.
    const { log, commands, stopped } = play(plan, 1, 1, (host) => host === 'h1');
    expect(log.filter((l) => l.startsWith('start'))).toEqual(['start h1/0']);
    expect(stopped).toBe('canary failed on h1: the canary is every host of the run, so nothing more was started');
    const rest = commands.filter((c) => c.hostId !== 'h1');
    expect(rest.every((c) => c.status === 'SKIPPED' && c.reason === stopped)).toBe(true);
  });

  /** One stage's PENDING commands, `c1`, `c2`, ... by host: the first two hosts in batch 1, the rest in 2. */
  const oneStage = (hostIds: readonly string[]): Sim[] =>
    hostIds.map((hostId, i) => ({
      id: `c${i + 1}`,
      stage: 0,
      hostId,
      batch: i < 2 ? 1 : 2,
      status: 'PENDING',
      started: false,
      reason: null,
    }));

  it('a host failing while its rollback runs counts at once, and its stage stays open until the rollback ended', () => {
    // Two waves of two, budget 0, one slot: h1 runs, fails, and starts its rollback (CORE-009).
    const plan = rollout([hosts(2), ['h3', 'h4']], { maxFailures: 0 });
    const commands = oneStage(['h1', 'h2', 'h3', 'h4']);
    const schedule = createSchedule(plan, commands);
    expect(schedule.decide(new Set(), 1).release?.batch).toBe(1);
    expect(schedule.decide(new Set([1]), 1).start).toEqual(['c1']);
    Object.assign(commands[0]!, { started: true, status: 'EXECUTING' });
    schedule.update(commands[0]!);
    schedule.failing({ ...commands[0]!, status: 'ERROR' });
    // The slot is still the rollback's, yet nothing may start any more: every other command SKIPPED.
    const stopped = 'failure budget exceeded: 1 of 4 hosts failed, limit 0';
    const decision = schedule.decide(new Set([1]), 1);
    expect(decision).toMatchObject({ start: [], stopped });
    expect(decision.skip).toEqual(['c2', 'c3', 'c4'].map((id) => ({ id, reason: stopped })));
    expect(decision.release).toBeUndefined();

    // Without a budget: h2 ends while h1 still rolls back; the next wave waits for the rollback.
    const open = rollout([hosts(2), ['h3']]);
    const again = oneStage(['h1', 'h2', 'h3']);
    const later = createSchedule(open, again);
    later.decide(new Set(), 2);
    expect(later.decide(new Set([1]), 2).start).toEqual(['c1', 'c2']);
    for (const c of again.slice(0, 2)) later.update(Object.assign(c, { started: true, status: 'EXECUTING' as const }));
    later.failing({ ...again[0]!, status: 'ERROR' });
    later.update(Object.assign(again[1]!, { status: 'SUCCESS' as const }));
    expect(later.decide(new Set([1]), 1)).toMatchObject({ start: [], skip: [], stopped: null });
    expect(later.decide(new Set([1]), 1).release).toBeUndefined();
    later.update(Object.assign(again[0]!, { status: 'ERROR' as const }));
    expect(later.decide(new Set([1]), 1).release?.batch).toBe(2);
  });

  it('names a few failed canaries and counts the rest', () => {
    const all = hosts(12);
    const plan = rollout([all.slice(0, 10), all.slice(10)], { canary: true });
    const failed = new Set(all.slice(0, 10));
    expect(stopReason(plan, failed, failed)).toBe(
      'canary failed on h1, h2, h3 and 7 more: the other hosts were not started',
    );
  });

  it('once more hosts failed than the budget allows, no new command starts and the rest is SKIPPED', () => {
    // One wave, 10 hosts, 2 at a time; h2, h3, h5 and h6 fail; the budget is 2.
    const plan = rollout([hosts(10)], { maxFailures: 2 });
    const failing = new Set(['h2', 'h3', 'h5', 'h6']);
    const { log, commands, stopped } = play(plan, 1, 2, (host) => failing.has(host));
    expect(stopped).toBe('failure budget exceeded: 3 of 10 hosts failed, limit 2');
    // h5 was the third failure; h6 was already running and finished; nothing started after h5 ended.
    expect(log.slice(first(log, /^end h5\//)).filter((l) => l.startsWith('start'))).toEqual([]);
    const ran = commands.filter((c) => c.started).map((c) => c.hostId);
    expect(ran).toEqual(['h1', 'h2', 'h3', 'h4', 'h5', 'h6']);
    const skipped = commands.filter((c) => c.status === 'SKIPPED');
    expect(skipped.map((c) => c.hostId)).toEqual(['h7', 'h8', 'h9', 'h10']);
    expect(skipped.every((c) => c.reason === stopped)).toBe(true);
  });

  it('maxFailures 0 is fail-fast; a host that failed drops out of later stages (reason null: &&)', () => {
    const plan = rollout([hosts(3)], { maxFailures: 0 });
    const { commands, stopped } = play(plan, 2, 1, (host, stage) => host === 'h1' && stage === 0);
    expect(stopped).toBe('failure budget exceeded: 1 of 3 hosts failed, limit 0');
    const h1Later = commands.find((c) => c.hostId === 'h1' && c.stage === 1)!;
    expect(h1Later).toMatchObject({ status: 'SKIPPED', reason: null });
    expect(commands.filter((c) => c.hostId !== 'h1').every((c) => c.status === 'SKIPPED' && c.reason === stopped)).toBe(
      true,
    );
  });

  it('without a budget a failure only drops its own host (today’s && semantics)', () => {
    const plan = rollout([hosts(3)]);
    const { commands, stopped } = play(plan, 2, 10, (host, stage) => host === 'h2' && stage === 0);
    expect(stopped).toBeNull();
    expect(commands.filter((c) => c.status === 'SUCCESS').map((c) => `${c.hostId}/${c.stage}`)).toEqual([
      'h1/0',
      'h3/0',
      'h1/1',
      'h3/1',
    ]);
  });

  it('never starts more than the free slots', () => {
    const plan = rollout([hosts(5)]);
    const commands: ScheduledCommand[] = hosts(5).map((hostId, i) => ({
      id: `c${i}`,
      stage: 0,
      hostId,
      batch: 1,
      status: 'PENDING',
      started: false,
    }));
    expect(decide(plan, commands, new Set([1]), 2).start).toEqual(['c0', 'c1']);
    expect(decide(plan, commands, new Set(), 2).release?.batch).toBe(1);
  });
});
