// CORE-008 on the dashboard, in a real browser: a batched run with a failure budget started by
// another `nixfleet apply` shows each host's batch and the budget used / limit, read from the
// journal through State Sync.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../engine/support/wait-for.js';
import { browserSession } from '../support/browser-session.js';
import { makeTempDir, ROOT, runCli, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';
import { startServe } from '../sync/support/serve-process.js';

// h3 fails, and the budget allows one failure: the run goes on and ends PARTIAL.
const FLEET = `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {} }
ops:
  build: { run: 'test "$NIXFLEET_HOST" != h3' }
  check: { run: 'true' }
pipelines:
  deploy:
    ops: [build, check]
    rollout: { canary: 1, batch: 2, maxFailures: 1 }
`;

const session = browserSession();

describe('a rollout on the dashboard', () => {
  it('shows each host’s batch and the failure budget used / limit', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const applied = await runCli(dir, ['apply', 'deploy']);
    expect(applied.exitCode, applied.stderr).toBe(1);
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(session.serve.url);
    await page.waitForSelector('#run-status[data-status="PARTIAL"]', { timeout: 60_000 });

    const budget = page.locator('#run-budget');
    expect(await budget.textContent()).toBe('failure budget 1/1');
    expect(await budget.getAttribute('data-used')).toBe('1');
    expect(await page.locator('#run-batches').textContent()).toBe('2 batch(es) after a canary');
    const labels = await page
      .locator('#grid tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => [row.getAttribute('data-host'), row.querySelector('.batch-tag')?.textContent ?? null]),
      );
    expect(labels).toEqual([
      ['h1', 'canary'],
      ['h2', 'batch 1/2'],
      ['h3', 'batch 1/2'],
      ['h4', 'batch 2/2'],
      ['h5', 'batch 2/2'],
    ]);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: join(ROOT, 'test-results/dashboard-rollout.png'), fullPage: true });
    await page.close();

    // On a phone the host list stands in for the grid, with the same batch beside each host.
    const phone = await session.browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    await phone.goto(session.serve.url);
    await phone.waitForSelector('#host-list li[data-host="h5"] .batch-tag', { timeout: 60_000 });
    const listed = await phone
      .locator('#host-list li')
      .evaluateAll((items) =>
        items.map((item) => [item.getAttribute('data-host'), item.querySelector('.batch-tag')?.textContent ?? null]),
      );
    expect(listed).toEqual(labels);
    expect(await phone.locator('#run-budget').isVisible()).toBe(true);
    await phone.close();
  }, 240_000);

  it('names the wave a running rollout is in, and marks the stage that wave is in', async () => {
    // Each host's build waits for a file of its own: the run is held in batch 2's first stage.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {}, h5: {} }
ops:
  build: { run: 'while [ ! -f "go-$NIXFLEET_HOST" ]; do sleep 0.05; done' }
  check: { run: 'true' }
pipelines:
  deploy: { ops: [build, check], rollout: { canary: 1, batch: 2 } }
`,
    });
    for (const host of ['h1', 'h2', 'h3']) writeFileSync(join(dir, `go-${host}`), '');
    await session.serve?.stop('SIGKILL'); // the first test's
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const apply = spawnCli(dir, ['apply', 'deploy'], { timeoutMs: 120_000 });
    try {
      await waitFor(() => commandStatus(dir, 'h4', 'build') === 'EXECUTING', 'h4 building');
      const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
      await page.goto(session.serve.url);
      await page.waitForSelector('#run-status[data-status="RUNNING"]', { timeout: 60_000 });
      // The canary and batch 1 went through both stages; batch 2 is in its first.
      const head = page.locator('#run-head');
      await head.getByText('batch 2/2, stage 1/2').waitFor({ timeout: 10_000 });
      expect(await page.locator('#grid thead th.current').textContent()).toBe('1build');
      await page.close();
    } finally {
      for (const host of ['h4', 'h5']) writeFileSync(join(dir, `go-${host}`), '');
    }
    expect((await apply).exitCode).toBe(0);
  }, 240_000);

  it('says a rollout waiting between waves is paused, before which wave, until the run ends', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  build: { run: 'true' }
pipelines:
  deploy: { ops: [build], rollout: { canary: 1, batch: 1, pause: 1h } }
`,
    });
    await session.serve?.stop('SIGKILL'); // the previous test's
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const apply = spawnCli(dir, ['apply', 'deploy'], { timeoutMs: 120_000 });
    try {
      await waitFor(() => commandStatus(dir, 'h1', 'build') === 'SUCCESS', 'the canary done');
      const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
      await page.goto(session.serve.url);
      await page.waitForSelector('#run-status[data-status="RUNNING"]', { timeout: 60_000 });
      // The journal's pause, through State Sync: not the canary's stage for an hour.
      const head = page.locator('#run-head');
      await head.getByText(/^paused before batch 1\/2 \(\d+m\d\ds left\)$/).waitFor({ timeout: 30_000 });
      const cancel = await runCli(dir, ['cancel', 'r1']);
      expect(cancel.exitCode, cancel.stderr).toBe(0);
      await page.waitForSelector('#run-status[data-status="CANCELLED"]', { timeout: 60_000 });
      expect(await head.textContent()).not.toContain('paused');
      await page.close();
    } catch (error) {
      apply.kill('SIGKILL');
      throw error;
    }
    // apply ends the run CANCELLED, then exits on its own: killed as soon as the page showed the
    // run over, it was once still on its way out.
    expect((await apply).exitCode).toBe(130);
  }, 240_000);

  it('says a canary count capped by the plan when the run is started here, as apply does (CORE-008)', async () => {
    // canary: 3 on a run of 2 hosts: the server plans a canary of 1, and says so.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {} }
ops:
  build: { run: 'true' }
pipelines:
  deploy: { ops: [build], rollout: { canary: 3 } }
  plain: { ops: [build] }
`,
    });
    await session.serve?.stop('SIGKILL'); // the previous test's
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(session.serve.url);
    const message = page.locator('#message');
    await page.locator('[data-pipeline="deploy"] button.apply').click();
    await message.getByText(/^started r1/).waitFor({ timeout: 30_000 });
    expect(await message.textContent()).toBe(
      'started r1 (deploy); canary 3 capped at 1 of 2 hosts, so at least one host waits for the canary',
    );
    await page.waitForSelector('#run-status[data-run-id="r1"][data-status="COMPLETE"]', { timeout: 60_000 });
    const labels = await page
      .locator('#grid tbody tr')
      .evaluateAll((rows) =>
        rows.map((row) => [row.getAttribute('data-host'), row.querySelector('.batch-tag')?.textContent ?? null]),
      );
    expect(labels[0]).toEqual(['h1', 'canary']);
    // A run with nothing cut says only that it started.
    await page.locator('[data-pipeline="plain"] button.apply').click();
    await message.getByText(/^started r2/).waitFor({ timeout: 30_000 });
    expect(await message.textContent()).toBe('started r2 (plain)');
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 240_000);
});
