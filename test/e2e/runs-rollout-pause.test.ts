// `runs` and `show` while a rollout waits `pause` between waves (CORE-008): read from another
// process, they say the run is paused, until when and before which wave; once that wave starts, or
// the run ends (cancelled, or its nixfleet killed and the run recovered), they no longer do. The
// pause comes from the journal, so this is read exactly as another terminal would read it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';
import { freshDatabaseUrl } from '../support/postgres.js';

vi.setConfig({ testTimeout: 240_000 });

/** A canary, then two batches of one; each batch host's build waits for `go-HOST` when `gated`. */
function fleet(pause: string, gated = false): string {
  const build = gated
    ? `'if [ "$NIXFLEET_HOST" != h1 ]; then while [ ! -f "go-$NIXFLEET_HOST" ]; do sleep 0.05; done; fi'`
    : "'true'";
  return `version: 1
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  build: { run: ${build} }
  check: { run: 'true' }
pipelines:
  deploy: { ops: [build, check], rollout: { canary: 1, batch: 1, pause: ${pause} } }
`;
}

interface RunJson {
  id: string;
  status: string;
  pause: { until: number; nextBatch: number } | null;
}

type Env = Record<string, string>;

async function newestRun(dir: string, env: Env): Promise<RunJson | undefined> {
  const runs = await runCli(dir, ['runs', '--json'], { env });
  expect(runs.exitCode, runs.stderr).toBe(0);
  return (JSON.parse(runs.stdout) as RunJson[])[0];
}

/** Asks `runs --json` until the newest run is paused, within a bound and while `apply` runs. */
async function waitForPause(dir: string, env: Env, apply: ReturnType<typeof spawnCli>): Promise<RunJson> {
  const deadline = Date.now() + 90_000;
  for (;;) {
    const run = await newestRun(dir, env);
    if (run?.pause) return run;
    if (apply.exitCode !== null) throw new Error(`apply ended before a pause: ${(await apply).stderr}`);
    if (Date.now() > deadline) throw new Error(`timed out waiting for the pause; newest run: ${JSON.stringify(run)}`);
  }
}

/** As `runs` and `show` write a time (src/ui/run-table.ts). */
const stamp = (ms: number) =>
  new Date(ms)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, 'Z');

const engines: [string, () => Env][] = [
  ['SQLite', () => ({})],
  ['PostgreSQL', () => ({ NIXFLEET_DATABASE_URL: freshDatabaseUrl() })],
];

describe.each(engines)('a rollout paused between waves, on %s', (_name, storeEnv) => {
  it('runs and show say paused, until when and before which wave, until the run is cancelled', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet('1h') });
    const env = storeEnv();
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { env, timeoutMs: 240_000 });
    try {
      const paused = await waitForPause(dir, env, apply);
      expect(paused).toMatchObject({ id: 'r1', status: 'RUNNING', pause: { nextBatch: 1 } });
      // An hour from when the canary ended: well after now.
      expect(paused.pause!.until).toBeGreaterThan(Date.now() + 50 * 60_000);
      const expected = `RUNNING (paused before batch 1/2 until ${stamp(paused.pause!.until)})`;
      const runs = await runCli(dir, ['runs'], { env });
      expect(runs.stdout.split('\n')[1]).toContain(expected);
      const show = await runCli(dir, ['show', 'r1'], { env });
      expect(show.exitCode, show.stderr).toBe(0);
      expect(show.stdout.split('\n')[0]).toBe(`run r1: pipeline deploy, ${expected}`);
      const showJson = await runCli(dir, ['show', 'r1', '--json'], { env });
      expect(JSON.parse(showJson.stdout).run.pause).toEqual(paused.pause);

      const cancel = await runCli(dir, ['cancel', 'r1'], { env });
      expect(cancel.exitCode, cancel.stderr).toBe(0);
      const result = await apply;
      expect(result.exitCode, String(result.stderr)).toBe(130);
    } finally {
      apply.kill('SIGKILL');
    }
    expect(await newestRun(dir, env)).toMatchObject({ id: 'r1', status: 'CANCELLED', pause: null });
    const runs = await runCli(dir, ['runs'], { env });
    expect(runs.stdout).not.toContain('paused');
  });
});

describe('a rollout paused between waves, on SQLite', () => {
  it('is not paused any more once the next wave starts', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet('1500ms', true) });
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 240_000 });
    try {
      await waitFor(() => commandStatus(dir, 'h2', 'build') === 'EXECUTING', 'batch 1 building');
      const run = await newestRun(dir, {});
      expect(run).toMatchObject({ status: 'RUNNING', currentBatch: 1, currentStage: 0, pause: null });
      const runs = await runCli(dir, ['runs']);
      expect(runs.stdout.split('\n')[1]).toContain('RUNNING (batch 1/2, stage 1/2)');
      // It was paused before: the journal's change log has the pause, then the wave that ended it.
      const db = new Database(join(dir, '.nixfleet', 'nixfleet.db'), { readonly: true, fileMustExist: true });
      const updates = (
        db
          .prepare("SELECT payload FROM changes WHERE type = 'pipeline_updated' ORDER BY version")
          .pluck()
          .all() as string[]
      ).map((payload) => JSON.parse(payload).pipeline as { currentBatch: number; pause: RunJson['pause'] });
      db.close();
      const pausedAt = updates.findIndex((p) => p.pause !== null);
      expect(pausedAt).toBeGreaterThan(0);
      expect(updates[pausedAt]).toMatchObject({ currentBatch: 0, pause: { nextBatch: 1 } });
      expect(updates[pausedAt + 1]).toMatchObject({ currentBatch: 1, pause: null });
    } finally {
      for (const host of ['h2', 'h3']) writeFileSync(join(dir, `go-${host}`), '');
    }
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(await newestRun(dir, {})).toMatchObject({ status: 'COMPLETE', pause: null });
  });

  it('is not paused any more once its nixfleet was killed and the run recovered', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleet('1h') });
    const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 240_000 });
    try {
      await waitForPause(dir, {}, apply);
    } finally {
      apply.kill('SIGKILL');
    }
    await apply;
    // The next nixfleet to open the journal marks the dead process's run ORPHANED.
    expect(await newestRun(dir, {})).toMatchObject({ id: 'r1', status: 'ORPHANED', pause: null });
    const show = await runCli(dir, ['show', 'r1']);
    expect(show.stdout.split('\n')[0]).toBe('run r1: pipeline deploy, ORPHANED');
  });
});
