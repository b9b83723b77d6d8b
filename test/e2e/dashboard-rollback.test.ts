// Rollbacks on the dashboard (see CORE-009), in headless Debian chromium: a run where one host's
// op fails and is rolled back, started by another `nixfleet apply`, shows the op's own status in
// its grid cell with a rollback chip beside it; the chip opens the rollback's output, as text.
// Started from the page with "no rollbacks" ticked, as `apply --no-rollback`, nothing is rolled back.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { browserSession } from '../support/browser-session.js';
import { openLiveDashboard } from '../support/chromium.js';
import { makeTempDir, ROOT, runCli, spawnCli } from '../support/cli.js';
import { startServe } from '../sync/support/serve-process.js';

const FLEET = `version: 1
hosts:
  web1: {}
  web2: {}
ops:
  switch:
    run: echo "switching $NIXFLEET_HOST"; test "$NIXFLEET_HOST" = web1
    rollback: echo "undo on $NIXFLEET_HOST <b>bold</b>"
  check:
    run: echo checked
pipelines:
  deploy: { ops: [switch, check] }
`;

const session = browserSession();

describe('rollbacks on the dashboard', () => {
  it('a rolled-back cell keeps its ERROR and carries a rollback chip that opens the rollback output', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1280,
      height: 800,
    });

    const apply = await spawnCli(dir, ['apply', 'deploy'], { timeoutMs: 60_000 });
    expect(apply.exitCode).toBe(1);
    await page.waitForSelector('#run-status[data-status="PARTIAL"]', { timeout: 30_000 });
    const chip = '#grid tr[data-host="web2"] .rollback-chip';
    await page.waitForSelector(`${chip}[data-status="SUCCESS"]`, { timeout: 30_000 });

    const cells = await page
      .locator('#grid tr[data-host="web2"] .cell')
      .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-status')));
    expect(cells).toEqual(['ERROR', 'SKIPPED']);
    expect(await page.locator('#grid tr[data-host="web1"] .rollback-chip').count()).toBe(0);
    expect(await page.locator(chip).textContent()).toBe('↺ SUCCESS');

    await page.evaluate((selector) => document.querySelector<HTMLElement>(selector)?.click(), chip);
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('undo on web2'), null, {
      timeout: 30_000,
    });
    expect(await page.locator('#output').textContent()).toContain('<b>bold</b>');
    expect(await page.locator('#output-title').textContent()).toMatch(
      /^c\d+ · web2 · switch rollback of c\d+ · SUCCESS$/,
    );
    expect(await page.locator('#output b').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.screenshot({ path: join(ROOT, 'test-results/dashboard-rollback.png'), fullPage: true });
    await page.close();

    // On a phone the host list stands in for the grid: the chip rides beside web2's stage chip.
    const phone = await session.browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    await phone.goto(session.serve.url);
    const listed = '#host-list li[data-host="web2"] .rollback-chip';
    await phone.waitForSelector(`${listed}[data-status="SUCCESS"]`, { timeout: 30_000 });
    expect(await phone.locator(listed).textContent()).toBe('↺ SUCCESS');
    expect(await phone.locator('#host-list li[data-host="web1"] .rollback-chip').count()).toBe(0);
    await phone.locator(listed).click();
    await phone.waitForFunction(() => document.getElementById('output')?.textContent?.includes('undo on web2'), null, {
      timeout: 30_000,
    });
    await phone.close();
  }, 120_000);

  it('"no rollbacks" ticked: the run started from the page rolls nothing back', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1280,
      height: 800,
    });
    await page.locator('#no-rollback').check();
    await page.locator('[data-pipeline="deploy"] button.apply').click();
    await page.waitForSelector('#run-status[data-run-id="r1"][data-status="PARTIAL"]', { timeout: 30_000 });
    const shown = await runCli(dir, ['show', 'r1', '--json']);
    expect(shown.exitCode, shown.stderr).toBe(0);
    const commands: { hostId: string; op: string; status: string; rollbackOf: string | null }[] = JSON.parse(
      shown.stdout,
    ).commands;
    expect(commands.map((c) => [c.hostId, c.op, c.status, c.rollbackOf])).toEqual(
      expect.arrayContaining([
        ['web1', 'switch', 'SUCCESS', null],
        ['web2', 'switch', 'ERROR', null],
      ]),
    );
    expect(commands.filter((c) => c.rollbackOf !== null)).toEqual([]);
    expect(await page.locator('.rollback-chip').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 120_000);
});
