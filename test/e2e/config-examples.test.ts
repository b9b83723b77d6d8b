// Every fleet a user may copy must work: the root demo and every examples/**/fleet.yaml validate,
// list and plan through the real CLI (new examples are picked up by the glob).
import { dirname, join } from 'node:path';
import { globSync } from 'tinyglobby';
import { describe, expect, it } from 'vitest';
import { ROOT, runCli } from '../support/cli.js';

const fleets = ['fleet.yaml', ...globSync('examples/**/fleet.yaml', { cwd: ROOT }).sort()];

describe('shipped fleets validate and plan', () => {
  it('finds the root demo and at least one example', () => {
    expect(fleets.length).toBeGreaterThanOrEqual(2);
  });

  it.concurrent.each(fleets)(
    '%s',
    async (fleet) => {
      const cwd = join(ROOT, dirname(fleet));
      const validate = await runCli(cwd, ['validate', '--json']);
      expect(JSON.parse(validate.stdout), validate.stdout).toMatchObject({ valid: true, errors: [] });
      const list = await runCli(cwd, ['list', 'pipelines', '--json']);
      const pipelines = JSON.parse(list.stdout) as { id: string; isDefault: boolean }[];
      expect(pipelines.length).toBeGreaterThan(0);
      const target = pipelines.find((p) => p.isDefault)?.id ?? pipelines[0]!.id;
      const plan = await runCli(cwd, ['plan', target, '--json']);
      expect(plan.exitCode, plan.stderr).toBe(0);
      expect(JSON.parse(plan.stdout).stages.length).toBeGreaterThan(0);
    },
    120_000,
  );
});
