// `watch --run` and rollbacks (see CORE-009): its runs roll back failed ops like `apply`, and
// `--no-rollback` turns that off for them too; without --run the flag is a usage error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { waitFor } from '../watch/fleet-edits.js';

const FLEET = `version: 1
hosts:
  web1: {}
ops:
  change:
    run: echo changed > state; exit 1
    rollback: echo restored > state
pipelines:
  all: { ops: [change] }
`;

async function watchOnce(args: string[]): Promise<{ dir: string; stdout: string }> {
  const dir = makeTempDir({ 'fleet.yaml': FLEET });
  const proc = spawnCli(dir, ['watch', '--run', 'all', ...args], { timeoutMs: 60_000 });
  let stdout = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  await waitFor('the run to finish', () => /^run r1 FAILED/m.test(stdout), 30_000);
  proc.kill('SIGINT');
  await proc;
  return { dir, stdout };
}

describe('watch --run and rollback', () => {
  it('rolls back a failed op, and not with --no-rollback', async () => {
    const rolled = await watchOnce([]);
    expect(rolled.stdout).toMatch(/^\[web1\] change rollback SUCCESS/m);
    expect(readFileSync(join(rolled.dir, 'state'), 'utf8')).toBe('restored\n');

    const kept = await watchOnce(['--no-rollback']);
    expect(kept.stdout).not.toContain('rollback');
    expect(readFileSync(join(kept.dir, 'state'), 'utf8')).toBe('changed\n');
  });

  it('refuses --no-rollback without --run (exit 2)', async () => {
    const result = await runCli(makeTempDir({ 'fleet.yaml': FLEET }), ['watch', '--no-rollback']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--no-rollback only applies to runs: it needs --run TARGET/);
  });
});
