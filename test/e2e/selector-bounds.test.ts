// Selectors whose matching used to backtrack for ever (see CORE-005, selectors), through the real
// CLI in a child process: each run is bounded by its timeout, so a regression fails instead of
// hanging the suite. `validate` reports them at their position, `plan` and `apply --on` exit 2.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { waitFor } from '../watch/fleet-edits.js';

// 25-character ids of one repeated letter: the worst case for nested or repeated stars.
const IDS = Array.from({ length: 30 }, (_, i) => `${'e'.repeat(23)}${String(i).padStart(2, '0')}`);
const STARS = `${'*e'.repeat(30)}*x`;
const NESTED = '*(*(*(*(*(*(e*)*)*)*)*)*)*x';

const fleet = (selector?: string) => `version: 1
hosts:
${IDS.map((id) => `  ${id}: {}`).join('\n')}
ops:
  hello: { run: echo hi }
pipelines:
  ship:
    ops: [hello]
${selector === undefined ? '' : `    hosts: ${JSON.stringify(selector)}\n`}`;

const BOUND = { timeoutMs: 30_000 };

describe('selectors that made matching backtrack for ever', () => {
  it('validate reports a nested extglob at its position, exit 2', { timeout: 40_000 }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(NESTED) });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain(
      `fleet.yaml:38:12: pipelines.ship.hosts: selector term \`${NESTED}\` cannot contain \`(\` (selector globs use`,
    );
  });

  it('validate matches many stars in linear time: the selector selects nothing, exit 2', {
    timeout: 40_000,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet(STARS) });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain(`fleet.yaml:38:12: pipelines.ship.hosts: selector \`${STARS}\` matches no host`);
  });

  it('plan and apply --on refuse them with exit 2 and run nothing', { timeout: 80_000 }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet() });
    const plan = await runCli(dir, ['plan', 'ship', '--on', STARS], BOUND);
    expect(plan.exitCode, plan.stderr).toBe(2);
    expect(plan.stderr).toContain(`selector \`${STARS}\` matches no host`);
    const apply = await runCli(dir, ['apply', 'ship', '--on', NESTED], BOUND);
    expect(apply.exitCode, apply.stderr).toBe(2);
    expect(apply.stderr).toContain('cannot contain `(`');
    expect(apply.stdout).not.toContain('run r');
  });

  it('watch reports such a save, keeps the last good fleet and still stops on SIGTERM', {
    timeout: 80_000,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet('*') });
    const watch = spawnCli(dir, ['watch'], { timeoutMs: 60_000 });
    let stdout = '';
    let stderr = '';
    watch.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    watch.stderr?.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    await waitFor('the start line', () => /watching fleet\.yaml .*v1/.test(stdout), 30_000);
    writeFileSync(join(dir, 'fleet.yaml'), fleet(NESTED));
    await waitFor('the error', () => /kept v1/.test(stderr), 30_000);
    expect(stderr).toContain(
      `fleet.yaml:38:12: pipelines.ship.hosts: selector term \`${NESTED}\` cannot contain \`(\``,
    );
    watch.kill('SIGTERM');
    const result = await watch;
    expect(result.timedOut).toBe(false);
    expect(result.exitCode).toBe(0);
  });
});
