// `runs` and `show` while a rollout runs (CORE-008): the run's status names the wave it is in and
// that wave's stage, as the journal records them, not the highest stage any earlier wave reached.
// Each wave's hosts wait in their first stage for a file of their own, so the test reads the
// journal while the run is held exactly there.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';

it('names the canary or the batch, and the stage that wave is in', async () => {
  const dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {} }
ops:
  build: { run: 'while [ ! -f "go-$NIXFLEET_HOST" ]; do sleep 0.05; done' }
  switch: { run: 'true' }
pipelines:
  deploy: { ops: [build, switch], rollout: { canary: 1, batch: 2 } }
`,
  });
  const apply = spawnCli(dir, ['apply', 'deploy', '--json'], { timeoutMs: 120_000 });
  const statusLine = async () => {
    const runs = await runCli(dir, ['runs']);
    const show = await runCli(dir, ['show', 'r1']);
    expect(show.exitCode, show.stderr).toBe(0);
    return { runs: runs.stdout.split('\n')[1] ?? '', show: show.stdout.split('\n')[0] ?? '' };
  };
  const holdAt = async (host: string, expected: string) => {
    await waitFor(() => commandStatus(dir, host, 'build') === 'EXECUTING', `${host} building`);
    const { runs, show } = await statusLine();
    expect(runs).toContain(expected);
    expect(show).toBe(`run r1: pipeline deploy, ${expected}`);
    writeFileSync(join(dir, `go-${host}`), '');
  };
  try {
    await holdAt('h1', 'RUNNING (canary, stage 1/2)');
    // Before, this read `stage 2/2`: the canary had reached the second stage.
    writeFileSync(join(dir, 'go-h2'), '');
    await holdAt('h3', 'RUNNING (batch 1/2, stage 1/2)');
    writeFileSync(join(dir, 'go-h4'), '');
    await holdAt('h5', 'RUNNING (batch 2/2, stage 1/2)');
  } finally {
    for (const host of ['h1', 'h2', 'h3', 'h4', 'h5']) writeFileSync(join(dir, `go-${host}`), '');
  }
  const result = await apply;
  expect(result.exitCode, String(result.stderr)).toBe(0);
  const runs = await runCli(dir, ['runs', '--json']);
  expect(JSON.parse(runs.stdout)[0]).toMatchObject({ status: 'COMPLETE', currentStage: 1, currentBatch: 2 });
}, 180_000);
