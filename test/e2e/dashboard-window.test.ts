// CORE-004, "The page": with a 3,000-host fleet the host table and the grid hold only the rows in
// view plus a margin (windowed-rows.js). In a real browser: scrolled to the end, the last host's
// rows are on screen and follow a delta; Tab walks the host table beyond the first window; the
// host filter finds a host outside the window, in the table, the grid and the 390 px host list;
// the rows of one table keep one height when a failure makes the grid's rows taller.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, openLiveDashboard } from '../support/chromium.js';
import { createPendingRun, type Fixture, startFixture, TOKEN } from '../sync/support/sync-fixture.js';

const HOSTS = Array.from({ length: 3000 }, (_, i) => `h${String(i).padStart(4, '0')}`);
const LAST = HOSTS.at(-1)!;
const FAR = 'h1500';

let browser: Browser;
let fixture: Fixture;
let commandOf: Map<string, string>;

beforeAll(async () => {
  browser = await launchChromium();
  fixture = await startFixture();
  fixture.journal.syncHosts(HOSTS.map((id) => ({ id, hostname: `${id}.example`, transport: 'local', tags: [] })));
  const { commands } = createPendingRun(fixture.journal, HOSTS);
  commandOf = new Map(commands.map((c) => [c.hostId, c.id]));
});
afterAll(async () => {
  await browser?.close();
  await fixture?.close();
});

/** The host ids of a table's rows in the DOM. */
const drawn = (page: Page, selector: string) =>
  page.evaluate((s) => Array.from(document.querySelectorAll<HTMLElement>(s)).map((r) => r.dataset.host), selector);

/** Scrolls a table's box to its end, the way a user's wheel does (scroll events and all). */
const scrollToEnd = (page: Page, box: string) =>
  page.evaluate((s) => {
    const element = document.querySelector<HTMLElement>(s)!;
    element.scrollTop = element.scrollHeight;
  }, box);

/** Whether the row is what the browser shows at its own centre: drawn inside its box, not hidden. */
const onScreen = (page: Page, row: string, box: string) =>
  page.evaluate(
    ([r, b]) => {
      const element = document.querySelector(r!);
      if (!element) return false;
      const rect = element.getBoundingClientRect();
      const boxRect = document.querySelector(b!)!.getBoundingClientRect();
      const y = rect.top + rect.height / 2;
      const hit = document.elementFromPoint(rect.left + 8, y);
      return y > boxRect.top && y < boxRect.bottom && hit !== null && element.contains(hit);
    },
    [row, box],
  );

describe('the dashboard with 3,000 hosts draws a window of rows', () => {
  it('shows the last host on screen with its live status after scrolling to the end', async () => {
    const { page, pageErrors } = await openLiveDashboard(browser, `${fixture.server.url}?token=${TOKEN}`, {
      width: 1440,
      height: 900,
    });
    await page.waitForSelector('#grid tr[data-host="h0000"]', { timeout: 30_000 });
    const grid = await drawn(page, '#grid tbody tr');
    const hosts = await drawn(page, '#hosts tbody tr');
    // A window from the top, not the fleet.
    expect(grid[0]).toBe('h0000');
    expect(hosts[0]).toBe('h0000');
    expect(grid.length).toBeLessThan(500);
    expect(hosts.length).toBeLessThan(500);
    expect(await page.locator('#hosts-count').textContent()).toBe('3000');

    await scrollToEnd(page, '#grid-wrap');
    await scrollToEnd(page, '#hosts-wrap');
    const gridRow = `#grid tr[data-host="${LAST}"]`;
    const hostRow = `#hosts tr[data-host="${LAST}"]`;
    await page.waitForSelector(gridRow);
    await page.waitForSelector(hostRow);
    expect(await drawn(page, '#grid tbody tr')).not.toContain('h0000');

    const id = commandOf.get(LAST)!;
    fixture.journal.transitionCommand(id, 'VALIDATING');
    await page.waitForSelector(`${gridRow} .cell[data-command-id="${id}"][data-status="VALIDATING"]`);
    await page.waitForSelector(`${hostRow} .status-chip[data-status="VALIDATING"]`);
    expect(await onScreen(page, gridRow, '#grid-wrap')).toBe(true);
    expect(await onScreen(page, hostRow, '#hosts-wrap')).toBe(true);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('finds a host outside the window with the host filter, then shows the fleet again', async () => {
    const { page, pageErrors } = await openLiveDashboard(browser, `${fixture.server.url}?token=${TOKEN}`, {
      width: 1440,
      height: 900,
    });
    await page.waitForSelector('#grid tr[data-host="h0000"]', { timeout: 30_000 });
    expect(await page.locator(`#hosts tr[data-host="${FAR}"]`).count()).toBe(0);
    expect(await page.locator(`#grid tr[data-host="${FAR}"]`).count()).toBe(0);

    // By keyboard: the filter is a plain input.
    await page.focus('#host-filter');
    await page.keyboard.type(FAR);
    // Typed a key at a time: the earlier prefixes (h, h1, h15, ...) match many hosts, h1500 among
    // them. Wait for the whole word's filter before looking at what is drawn.
    await page.waitForFunction(() => document.querySelector('#hosts-count')?.textContent === '1/3000', null, {
      timeout: 30_000,
    });
    await page.waitForSelector(`#hosts tr[data-host="${FAR}"]`);
    await page.waitForSelector(`#grid tr[data-host="${FAR}"] .cell[data-status="PENDING"]`);
    expect(await drawn(page, '#hosts tbody tr')).toEqual([FAR]);
    expect(await drawn(page, '#grid tbody tr')).toEqual([FAR]);
    expect(await page.locator('#hosts-count').textContent()).toBe('1/3000');
    expect(await onScreen(page, `#grid tr[data-host="${FAR}"]`, '#grid-wrap')).toBe(true);

    // Its hostname finds it too; a delta reaches the filtered row.
    await page.fill('#host-filter', `${FAR}.EXAMPLE`);
    const id = commandOf.get(FAR)!;
    fixture.journal.transitionCommand(id, 'VALIDATING');
    await page.waitForSelector(`#grid tr[data-host="${FAR}"] .cell[data-status="VALIDATING"]`);
    expect(await drawn(page, '#grid tbody tr')).toEqual([FAR]);

    await page.fill('#host-filter', '');
    await page.waitForFunction(() => document.querySelector('#hosts-count')?.textContent === '3000');
    expect((await drawn(page, '#hosts tbody tr'))[0]).toBe('h0000');
    // The host list is drawn only where it shows: narrowing the page brings it.
    expect(await page.locator('#host-list li').count()).toBe(0);
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForSelector('#host-list li[data-host="h0000"]');
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('lets Tab walk the host table past the first window, and Enter open that host’s output', async () => {
    const { page, pageErrors } = await openLiveDashboard(browser, `${fixture.server.url}?token=${TOKEN}`, {
      width: 1440,
      height: 900,
    });
    await page.waitForSelector('#hosts tr[data-host="h0000"]', { timeout: 30_000 });
    const target = 'h0150';
    expect(await page.locator(`#hosts tr[data-host="${target}"]`).count()).toBe(0);
    // Each host row has one button (its command's chip): 150 Tabs from h0000's lead to h0150's.
    await page.focus('#hosts tr[data-host="h0000"] button');
    for (let i = 0; i < 150; i++) await page.keyboard.press('Tab');
    const focused = await page.evaluate(() => document.activeElement?.closest('tr')?.dataset.host);
    expect(focused).toBe(target);
    await page.keyboard.press('Enter');
    await page.waitForFunction((h) => document.querySelector('#output-title')?.textContent?.includes(h), target);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('filters the 390 px host list the same way', async () => {
    const { page, pageErrors } = await openLiveDashboard(browser, `${fixture.server.url}?token=${TOKEN}`, {
      width: 390,
      height: 844,
    });
    await page.waitForSelector('#host-list li[data-host="h0000"]', { timeout: 30_000 });
    await page.fill('#host-filter', 'h2999');
    await page.waitForFunction(() => document.querySelectorAll('#host-list li').length === 1);
    expect(await drawn(page, '#host-list li')).toEqual(['h2999']);
    expect(await page.locator('#host-list li[data-host="h2999"]').isVisible()).toBe(true);
    expect(pageErrors).toEqual([]);
    await page.close();
  });

  it('keeps one row height per table when a failure makes the grid rows taller', async () => {
    const { page, pageErrors } = await openLiveDashboard(browser, `${fixture.server.url}?token=${TOKEN}`, {
      width: 1440,
      height: 900,
    });
    await page.waitForSelector('#grid tr[data-host="h0000"]', { timeout: 30_000 });
    const heights = () =>
      page.evaluate(() => [
        ...new Set(
          Array.from(document.querySelectorAll('#grid tbody tr')).map((r) => r.getBoundingClientRect().height),
        ),
      ]);
    expect(await heights()).toHaveLength(1);
    const id = commandOf.get('h0002')!;
    fixture.journal.transitionCommand(id, 'VALIDATING');
    fixture.journal.transitionCommand(id, 'EXECUTING');
    fixture.journal.transitionCommand(id, 'ERROR', {
      exitCode: 3,
      error: 'exit code 3: a reason long enough to take both of the lines a cell gives it, and more',
    });
    await page.waitForSelector('#grid[data-rows="tall"] tr[data-host="h0002"] .cell-reason');
    expect(await heights()).toHaveLength(1);
    // Scrolled to the end at the new pitch, the last row is still the one on screen.
    await scrollToEnd(page, '#grid-wrap');
    await page.waitForSelector(`#grid tr[data-host="${LAST}"]`);
    expect(await onScreen(page, `#grid tr[data-host="${LAST}"]`, '#grid-wrap')).toBe(true);
    expect(pageErrors).toEqual([]);
    await page.close();
  });
});
