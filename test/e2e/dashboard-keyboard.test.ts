// The dashboard by keyboard alone (CORE-004, "Keyboard"), in headless Debian chromium: Tab reaches
// a grid cell and a run in the recent runs, Enter selects them, and the focus stays on its cell
// when the live grid redraws that cell's row.
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSession } from '../support/browser-session.js';
import { makeTempDir, spawnCli } from '../support/cli.js';
import { startServe } from '../sync/support/serve-process.js';

const FLEET = `version: 1
hosts:
  web1: {}
  web2: {}
ops:
  build:
    run: echo "built on $NIXFLEET_HOST"
  soak:
    run: echo "soaking $NIXFLEET_HOST"; sleep 6
pipelines:
  ship: { ops: [build, soak] }
`;

const session = browserSession();

/** The focused element's focus key, or null when the focus is on nothing (the page's body). */
const focusKey = (page: Page) =>
  page.evaluate(() => (document.activeElement as HTMLElement | null)?.dataset.focusKey ?? null);

/** Presses Tab until the focused element matches `selector`; fails after `limit` presses. */
async function tabTo(page: Page, selector: string, limit = 60): Promise<void> {
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press('Tab');
    if (await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector)) return;
  }
  throw new Error(`${limit} presses of Tab never reached ${selector}`);
}

describe('the dashboard by keyboard', () => {
  it('Tab reaches grid cells and runs, Enter selects them, and a redraw keeps the focus', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    session.serve = await startServe(dir, []);
    const page = await session.browser.newPage({ viewport: { width: 1440, height: 900 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    await page.goto(session.serve.url);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });

    const apply = spawnCli(dir, ['apply', 'ship'], { timeoutMs: 120_000 });
    // web2's row: its host, then a cell per stage; the third child is `soak`, which runs for seconds.
    const soakCell = '#grid tr[data-host="web2"] td:nth-child(3)';
    await page.waitForSelector(`${soakCell}[data-status="EXECUTING"]`, { timeout: 30_000 });

    // From the top of the page, Tab walks to web2's running cell of the grid.
    await page.focus('#host-filter');
    await tabTo(page, `${soakCell} button`);
    const key = await focusKey(page);
    expect(key).toMatch(/^command:c\d+$/);
    // The running cell's row is drawn again when its command finishes (its record changes): the
    // element the focus was on is replaced, and the new one with the same key has the focus.
    await page.evaluate(() => {
      (document.activeElement as HTMLElement & { drawnBefore?: boolean }).drawnBefore = true;
    });
    await page.waitForFunction(
      () =>
        (document.activeElement as (HTMLElement & { drawnBefore?: boolean }) | null)?.drawnBefore !== true &&
        document.activeElement !== document.body,
      null,
      { timeout: 15_000 },
    );
    expect(await focusKey(page)).toBe(key);
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('output-title')?.textContent?.includes('web2'), null, {
      timeout: 15_000,
    });
    expect(await page.locator('#output-title').textContent()).toContain('soak');
    expect(await page.getAttribute('#grid tr[data-host="web2"] .cell.selected button', 'aria-pressed')).toBe('true');

    expect((await apply).exitCode).toBe(0);
    // A second run. The page stays on r1, whose command was picked; Tab reaches r2 in the recent
    // runs, and Enter shows it.
    expect((await spawnCli(dir, ['apply', 'build', '--on', 'web1'])).exitCode).toBe(0);
    await page.waitForSelector('#runs tr[data-run-id="r2"]', { timeout: 30_000 });
    expect(await page.locator('#run-id').textContent()).toBe('r1');
    await page.focus('#host-filter');
    await tabTo(page, '#runs tr[data-run-id="r2"] button');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('run-id')?.textContent === 'r2', null, {
      timeout: 15_000,
    });
    expect(await focusKey(page)).toBe('run:r2');
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 180_000);
});
