// CORE-004, "The page": in a real browser, a delta redraws only the rows it touched. Every other
// host row, grid row and host-list item stays the very same DOM node (marked before the delta), the touched ones
// show the new record, and hosts added or removed land in the right place.
import type { Browser, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { createPendingRun, type Fixture, startFixture, TOKEN } from '../sync/support/sync-fixture.js';

let browser: Browser;
let fixture: Fixture | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const HOSTS = Array.from({ length: 40 }, (_, i) => `h${String(i).padStart(2, '0')}`);
const declare = (ids: string[]) => ids.map((id) => ({ id, hostname: id, transport: 'local' as const, tags: [] }));

/** Marks every row now in the page; returns nothing, the marks stay on the nodes. */
function markRows(page: Page): Promise<void> {
  return page.evaluate(() => {
    for (const row of Array.from(document.querySelectorAll('#hosts tbody tr, #grid tbody tr, #host-list li'))) {
      (row as HTMLElement & { __mark?: boolean }).__mark = true;
    }
  });
}

/** Per table, the host ids of the rows that are no longer the marked nodes. */
function redrawn(page: Page): Promise<{ hosts: string[]; grid: string[]; list: string[] }> {
  return page.evaluate(() => {
    const fresh = (selector: string) =>
      Array.from(document.querySelectorAll(selector))
        .filter((row) => !(row as HTMLElement & { __mark?: boolean }).__mark)
        .map((row) => (row as HTMLElement).dataset.host ?? '');
    return { hosts: fresh('#hosts tbody tr'), grid: fresh('#grid tbody tr'), list: fresh('#host-list li') };
  });
}

const hostOrder = (page: Page) =>
  page.evaluate(() =>
    Array.from(document.querySelectorAll('#hosts tbody tr')).map((r) => (r as HTMLElement).dataset.host),
  );

describe('the dashboard redraws only what a delta touched', () => {
  it('keeps untouched rows, redraws the changed host and grid row, and places added and removed hosts', async () => {
    fixture = await startFixture();
    const { journal } = fixture;
    journal.syncHosts(declare(HOSTS));
    const { commands } = createPendingRun(journal, HOSTS);
    const page = await browser.newPage();
    await page.goto(`${fixture.server.url}?token=${TOKEN}`);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
    await page.waitForFunction((n) => document.querySelectorAll('#grid tbody tr').length === n, HOSTS.length);
    await markRows(page);
    // The host list is kept only where it shows, below 640 px.
    const phone = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await phone.goto(`${fixture.server.url}?token=${TOKEN}`);
    await phone.waitForFunction((n) => document.querySelectorAll('#host-list li').length === n, HOSTS.length);
    await markRows(phone);

    const touched = commands[7]!;
    journal.transitionCommand(touched.id, 'VALIDATING');
    await page.waitForSelector(`#grid td[data-command-id="${touched.id}"][data-status="VALIDATING"]`);
    await page.waitForSelector(`#hosts tr[data-host="${touched.hostId}"] .status-chip[data-status="VALIDATING"]`);
    await phone.waitForSelector(`#host-list li[data-host="${touched.hostId}"][data-status="VALIDATING"]`);
    expect(await redrawn(page)).toEqual({ hosts: [touched.hostId], grid: [touched.hostId], list: [] });
    expect((await redrawn(phone)).list).toEqual([touched.hostId]);

    // h40 is new (sorted last), h05 is gone; every other row stays where and what it was.
    await markRows(page);
    journal.syncHosts(declare([...HOSTS.filter((h) => h !== 'h05'), 'h40']));
    await page.waitForFunction(() => document.querySelector('#hosts tr[data-host="h40"]') !== null);
    await page.waitForFunction(() => document.querySelector('#hosts tr[data-host="h05"]') === null);
    expect((await redrawn(page)).hosts).toEqual(['h40']);
    expect(await hostOrder(page)).toEqual([...HOSTS.filter((h) => h !== 'h05'), 'h40']);
  });
  it('replaces the grid header only when the current stage changes', async () => {
    fixture = await startFixture();
    const { journal } = fixture;
    const hosts = ['a', 'b', 'c'];
    journal.syncHosts(declare(hosts));
    const { run, commands } = createPendingRun(journal, hosts, ['pull', 'switch']);
    const page = await browser.newPage();
    await page.goto(`${fixture.server.url}?token=${TOKEN}`);
    await page.waitForSelector('#grid thead th.current', { timeout: 30_000 });
    const markHead = () =>
      page.evaluate(() => {
        (document.querySelector('#grid thead') as HTMLElement & { __mark?: boolean }).__mark = true;
      });
    const headKept = () =>
      page.evaluate(
        () => (document.querySelector('#grid thead') as HTMLElement & { __mark?: boolean }).__mark === true,
      );
    await markHead();
    expect(await page.locator('#grid thead th.current').textContent()).toBe('1pull');

    journal.transitionCommand(commands[0]!.id, 'VALIDATING');
    await page.waitForSelector(`#grid td[data-command-id="${commands[0]!.id}"][data-status="VALIDATING"]`);
    expect(await headKept()).toBe(true);

    journal.advanceRun(run.id, 1);
    await page.waitForFunction(() => document.querySelector('#grid thead th.current')?.textContent === '2switch');
    expect(await headKept()).toBe(false);
  });
});
