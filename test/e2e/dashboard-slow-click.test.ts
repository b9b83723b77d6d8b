// A click on the dashboard that spans renders (see CORE-004, "Redrawing"): the page redraws on
// every message and every second while a run is on, and a button rebuilt between the press and the
// release of a click never gets the click. In headless chromium, with a beacon every 50 ms, the
// mouse is pressed on Apply and on Cancel, held while the page draws three times, and released:
// each click still does what it says. So are a running command's cell, its host's Kill and a
// running run in the recent runs, whose durations tick at every render in their first ten seconds.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSession } from '../support/browser-session.js';
import { openLiveDashboard } from '../support/chromium.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { startServe } from '../sync/support/serve-process.js';

const fleet = (dir: string) => `version: 1
hosts:
  web1: {}
  web2: {}
ops:
  hold:
    run: for i in $(seq 1 600); do [ -e ${dir}/release ] && break; sleep 0.1; done
  quick:
    run: "true"
pipelines:
  slow: { ops: [hold] }
  fast: { ops: [quick] }
`;

const session = browserSession();

/** Presses the mouse on `selector`, holds it through three of the page's renders, and releases it. */
async function slowClick(page: Page, selector: string): Promise<void> {
  // The page records each render as a `nixfleet:render` measure (app.js): counted by one observer
  // per page, from zero at each click.
  await page.evaluate(() => {
    const w = window as unknown as { renders: number; counting?: boolean };
    w.renders = 0;
    if (w.counting) return;
    w.counting = true;
    new PerformanceObserver((list) => {
      w.renders += list.getEntries().filter((entry) => entry.name === 'nixfleet:render').length;
    }).observe({ entryTypes: ['measure'] });
  });
  // Where the button is; asked again if a render replaced it while it was being measured.
  let box = null;
  for (let tries = 0; box === null && tries < 50; tries++) box = await page.locator(selector).boundingBox();
  if (box === null) throw new Error(`${selector} is not shown`);
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  await page.mouse.down();
  await page.waitForFunction(() => (window as unknown as { renders: number }).renders >= 3, null, {
    timeout: 30_000,
  });
  await page.mouse.up();
}

describe('a click held across renders', () => {
  it('still starts the run from Apply, and still cancels it from Cancel', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '50ms' });
    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1280,
      height: 860,
    });
    try {
      await slowClick(page, '[data-pipeline="slow"] button.apply');
      await page.waitForSelector('#run-status[data-run-id="r1"][data-status="RUNNING"]', { timeout: 15_000 });

      await page.waitForSelector('#grid tr[data-host="web1"] .cell[data-status="EXECUTING"]', { timeout: 30_000 });
      await slowClick(page, '#run-head button.cancel');
      await page.waitForSelector('#run-head .tag.warn', { timeout: 15_000 });
      writeFileSync(join(dir, 'release'), '');
      await page.waitForSelector('#run-status[data-run-id="r1"][data-status="CANCELLED"]', { timeout: 30_000 });
      const shown = await runCli(dir, ['show', 'r1', '--json']);
      expect(JSON.parse(shown.stdout).run).toMatchObject({ status: 'CANCELLED', cancelRequested: true });
      expect(pageErrors).toEqual([]);
    } finally {
      writeFileSync(join(dir, 'release'), '');
    }
  }, 120_000);

  it("still lands on a running command's cell, on its host's Kill and on the running run's row", async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    expect((await runCli(dir, ['apply', 'fast', '--json'])).exitCode).toBe(0);
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '50ms' });
    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1280,
      height: 860,
    });
    const cell = (host: string) => `#grid tr[data-host="${host}"] .cell`;
    try {
      await page.click('[data-pipeline="slow"] button.apply');
      await page.waitForSelector(`${cell('web1')}[data-status="EXECUTING"]`, { timeout: 30_000 });
      await page.waitForSelector(`${cell('web2')}[data-status="EXECUTING"]`, { timeout: 30_000 });

      await slowClick(page, `${cell('web1')} button.cell-status`);
      await page.waitForSelector(`${cell('web1')}.selected`, { timeout: 15_000 });
      expect(await page.locator('#output-title').textContent()).toContain('web1');

      await page.click('#runs tr[data-run-id="r1"] button.run-pick');
      await page.waitForSelector('#run-status[data-run-id="r1"]', { timeout: 15_000 });
      await slowClick(page, '#runs tr[data-run-id="r2"] button.run-pick');
      await page.waitForSelector('#run-status[data-run-id="r2"]', { timeout: 15_000 });

      await slowClick(page, '#grid tr[data-host="web2"] button.kill-host');
      await page.waitForSelector(`${cell('web2')}[data-status="CANCELLED"]`, { timeout: 30_000 });
      expect(await page.locator(cell('web1')).getAttribute('data-status')).toBe('EXECUTING');
      writeFileSync(join(dir, 'release'), '');
      await page.waitForSelector('#run-status[data-run-id="r2"][data-status="PARTIAL"]', { timeout: 30_000 });
      expect(pageErrors).toEqual([]);
    } finally {
      writeFileSync(join(dir, 'release'), '');
    }
  }, 120_000);
});
