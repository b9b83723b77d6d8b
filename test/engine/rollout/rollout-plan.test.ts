// CORE-008: how a run's hosts are split into waves, the budget resolved, and a retry's waves
// rebuilt from the journal. Pure functions over a hand-built registry.
import { describe, expect, it } from 'vitest';
import { canaryCapText, planRollout, resumeRollout } from '../../../src/engine/rollout/rollout-plan.js';
import { UserError } from '../../../src/errors/user-error.js';
import { handRegistry } from '../support/hand-plan.js';

const hosts = Array.from({ length: 10 }, (_, i) => `h${i + 1}`);
const registry = handRegistry('/tmp', hosts, [{ id: 'x', run: 'true' }]);
const waves = (plan: ReturnType<typeof planRollout>) => plan.waves.map((w) => [w.batch, w.hosts.join(',')]);

describe('planRollout', () => {
  it('without settings: one wave with every host and no budget (CORE-002 unchanged)', () => {
    const plan = planRollout(registry, hosts, undefined);
    expect(waves(plan)).toEqual([[1, hosts.join(',')]]);
    expect(plan.maxFailures).toBeNull();
  });

  it('a canary count, then batches of N; the last batch takes the remainder', () => {
    const plan = planRollout(registry, hosts, {
      strategy: 'batches',
      batch: { count: 4 },
      canary: { count: 1 },
      pauseMs: 0,
    });
    expect(waves(plan)).toEqual([
      [0, 'h1'],
      [1, 'h2,h3,h4,h5'],
      [2, 'h6,h7,h8,h9'],
      [3, 'h10'],
    ]);
    expect(plan).toMatchObject({ canary: ['h1'], batches: 3 });
  });

  it('percentages round down: batch 25% of the 8 hosts after the canary, budget 15% of 10', () => {
    const plan = planRollout(registry, hosts, {
      strategy: 'batches',
      batch: { percent: 25 },
      canary: { selector: 'h9,h10' },
      maxFailures: { percent: 15 },
      pauseMs: 0,
    });
    expect(waves(plan)).toEqual([
      [0, 'h9,h10'],
      [1, 'h1,h2'],
      [2, 'h3,h4'],
      [3, 'h5,h6'],
      [4, 'h7,h8'],
    ]);
    expect(plan).toMatchObject({ maxFailures: 1, maxFailuresSpec: '15%' });
  });

  it('a tiny percentage still makes batches of one host', () => {
    const plan = planRollout(registry, hosts.slice(0, 3), { strategy: 'batches', batch: { percent: 1 }, pauseMs: 0 });
    expect(waves(plan)).toEqual([
      [1, 'h1'],
      [2, 'h2'],
      [3, 'h3'],
    ]);
  });

  it('flags override the pipeline; --batch alone means batches', () => {
    const plan = planRollout(
      registry,
      hosts.slice(0, 4),
      { strategy: 'stages', maxFailures: { count: 3 }, pauseMs: 5000 },
      { batch: { count: 2 }, maxFailures: { count: 0 } },
    );
    expect(plan).toMatchObject({ strategy: 'batches', maxFailures: 0, pauseMs: 5000 });
    expect(waves(plan)).toEqual([
      [1, 'h1,h2'],
      [2, 'h3,h4'],
    ]);
  });

  it('a canary count leaves at least one host after the canary; a one-host run has its host as canary', () => {
    const canary = (count: number, of: string[]) =>
      planRollout(registry, of, { strategy: 'stages', pauseMs: 0 }, { canary: { count } });
    const two = canary(3, ['h1', 'h2']);
    expect(waves(two)).toEqual([
      [0, 'h1'],
      [1, 'h2'],
    ]);
    expect(two).toMatchObject({ canary: ['h1'], canaryAsked: 3, batches: 1 });
    expect(canaryCapText(two)).toBe('canary 3 capped at 1 of 2 hosts, so at least one host waits for the canary');
    expect(canary(10, hosts)).toMatchObject({ canary: hosts.slice(0, 9), canaryAsked: 10 });
    const fits = canary(9, hosts);
    expect(fits.canary).toEqual(hosts.slice(0, 9));
    expect(fits).not.toHaveProperty('canaryAsked');
    expect(canaryCapText(fits)).toBeNull();
    const one = canary(2, ['h4']);
    expect(waves(one)).toEqual([[0, 'h4']]);
    expect(canaryCapText(one)).toBe('canary 2 capped at 1 of 1 host, the only host of the run');
    expect(canary(1, ['h4'])).not.toHaveProperty('canaryAsked');
    // A selector names its hosts: taken as given, even every host of the run.
    const all = planRollout(registry, ['h1', 'h2'], { strategy: 'stages', canary: { selector: '*' }, pauseMs: 0 });
    expect(waves(all)).toEqual([[0, 'h1,h2']]);
    expect(all).not.toHaveProperty('canaryAsked');
  });

  it('a canary selector that matches none of the run’s hosts is a UserError', () => {
    expect(() =>
      planRollout(registry, ['h1', 'h2'], { strategy: 'stages', canary: { selector: 'h5' }, pauseMs: 0 }),
    ).toThrow(UserError);
  });
});

describe('resumeRollout (retry)', () => {
  it('keeps each retried host in its batch, the budget and the pause; finished waves disappear', () => {
    const first = planRollout(registry, hosts, {
      strategy: 'batches',
      batch: { count: 3 },
      canary: { count: 1 },
      maxFailures: { count: 2 },
      pauseMs: 1000,
    });
    const batchOf = new Map(first.waves.flatMap((w) => w.hosts.map((h) => [h, w.batch] as const)));
    const resumed = resumeRollout(first, ['h4', 'h8', 'h9'], (h) => batchOf.get(h)!);
    expect(waves(resumed)).toEqual([
      [1, 'h4'],
      [3, 'h8,h9'],
    ]);
    expect(resumed).toMatchObject({ canary: [], batches: 3, maxFailures: 2, pauseMs: 1000 });
    const withCanary = resumeRollout(first, ['h1', 'h2'], (h) => batchOf.get(h)!);
    expect(waves(withCanary)).toEqual([
      [0, 'h1'],
      [1, 'h2'],
    ]);
    expect(withCanary.canary).toEqual(['h1']);
  });
});
