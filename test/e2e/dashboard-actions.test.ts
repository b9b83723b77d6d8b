// The dashboard's answers to a failure, in a real browser (see CORE-004): the reason is in the
// failed cell without a click, Retry reruns what did not complete (same rules as `nixfleet
// retry`), Cancel stops a run, the output panel follows the run on screen, a 390 px wide phone
// gets a host-first list with nothing overflowing, and the bare address says how to get in.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { browserSession } from '../support/browser-session.js';
import { openLiveDashboard } from '../support/chromium.js';
import { makeTempDir, ROOT, runCli } from '../support/cli.js';
import { startServe } from '../sync/support/serve-process.js';

const fleet = (dir: string) => `version: 1
hosts:
  web1: {}
  web2: {}
ops:
  deploy:
    run: 'if [ "$NIXFLEET_HOST" = web2 ] && [ ! -e ${dir}/fixed ]; then echo "disk full on web2"; exit 3; fi; echo "deployed $NIXFLEET_HOST"'
    retryable: true
  check:
    run: echo "checked $NIXFLEET_HOST"
  hold:
    run: for i in $(seq 1 1200); do [ -e ${dir}/release ] && break; sleep 0.1; done
pipelines:
  ship: { ops: [deploy, check] }
  slow: { ops: [hold, check] }
`;

const session = browserSession();

const click = (page: Page, selector: string) =>
  page.evaluate((s) => document.querySelector<HTMLElement>(s)?.click(), selector);

describe('dashboard actions', () => {
  it('shows the reason in the failed cell, retries, cancels, and keeps the output panel on the shown run', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1280,
      height: 860,
    });

    // A run from another process fails on web2.
    expect((await runCli(dir, ['apply', 'ship'])).exitCode).toBe(1);
    await page.waitForSelector('#run-status[data-run-id="r1"][data-status="PARTIAL"]', { timeout: 30_000 });
    const reason = page.locator('#grid tr[data-host="web2"] .cell[data-status="ERROR"] .cell-reason');
    expect(await reason.isVisible()).toBe(true);
    expect(await reason.textContent()).toBe('exit code 3');
    await page.screenshot({ path: join(ROOT, 'test-results/dashboard-failed.png') });

    // The failed cell's output, then Retry: the new run replaces it on screen, and so does the panel.
    await click(page, '#grid tr[data-host="web2"] .cell[data-status="ERROR"]');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('disk full on web2'));
    writeFileSync(join(dir, 'fixed'), '');
    expect(await page.locator('#run-head button.retry').count()).toBe(1);
    await click(page, '#run-head button.retry');
    await page
      .waitForSelector('#run-status[data-run-id="r2"][data-status="COMPLETE"]', { timeout: 30_000 })
      .catch(async (error: Error) => {
        throw new Error(`${error.message}; the page said: ${await page.locator('#message').textContent()}`);
      });
    expect(await page.locator('#output').textContent()).toBe('');
    expect(await page.locator('#message').textContent()).toContain('started r2 (retry of r1)');
    // Only web2 was run again, from the stage where it stopped.
    expect(
      await page.locator('#grid tbody tr').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-host'))),
    ).toEqual(['web2']);
    expect(await page.locator('#run-head button.retry').count()).toBe(0);

    // Selecting the old run in the list shows it, without the newer run's output.
    await click(page, '#grid tr[data-host="web2"] .cell[data-status="SUCCESS"]');
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('deployed web2'));
    await click(page, '#runs tr[data-run-id="r1"]');
    await page.waitForSelector('#run-status[data-run-id="r1"]');
    await page.waitForFunction(() => document.getElementById('output')?.textContent === '');

    // Cancel: a run started from the page, held at its first stage, ends CANCELLED.
    await page.evaluate(() => document.querySelector<HTMLElement>('[data-pipeline="slow"] button.apply')?.click());
    await page.waitForSelector('#run-status[data-run-id="r3"][data-status="RUNNING"]', { timeout: 30_000 });
    await page.waitForSelector('#grid .cell[data-status="EXECUTING"]', { timeout: 30_000 });
    await click(page, '#run-head button.cancel');
    await page.waitForSelector('#run-head .tag.warn', { timeout: 30_000 });
    writeFileSync(join(dir, 'release'), '');
    await page.waitForSelector('#run-status[data-run-id="r3"][data-status="CANCELLED"]', { timeout: 30_000 });
    const stages = await page
      .locator('#grid tr[data-host="web1"] .cell')
      .evaluateAll((cells) => cells.map((c) => c.getAttribute('data-status')));
    expect(stages).toEqual(['SUCCESS', 'CANCELLED']);
    expect(pageErrors).toEqual([]);
    await page.close();

    // 390 px: the host-first list, the failing host's reason visible, nothing wider than the screen.
    const phone = await session.browser.newPage({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 1 });
    await phone.goto(session.serve.url);
    await phone.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
    await phone.evaluate(() => document.querySelector<HTMLElement>('#runs tr[data-run-id="r1"]')?.click());
    await phone.waitForSelector('#host-list li[data-host="web2"]');
    expect(await phone.locator('#grid').isVisible()).toBe(false);
    const web2 = phone.locator('#host-list li[data-host="web2"]');
    expect(await web2.isVisible()).toBe(true);
    expect(await web2.locator('.cell-reason').textContent()).toBe('exit code 3');
    expect(await web2.locator('.badge').textContent()).toBe('ERROR');
    const widths = await phone.evaluate(() => ({
      page: document.documentElement.scrollWidth,
      overflowing: Array.from(document.querySelectorAll<HTMLElement>('body *'))
        .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 0.5 && e.getClientRects().length > 0)
        .map((e) => `${e.tagName}.${e.className}#${e.id}`),
    }));
    expect(widths.overflowing).toEqual([]);
    expect(widths.page).toBeLessThanOrEqual(390);
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await phone.screenshot({ path: join(ROOT, 'test-results/dashboard-390.png'), fullPage: true });
    await phone.close();
  }, 240_000);

  it('the bare address without a token says how to get in', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    session.serve ??= await startServe(dir, [], {});
    const page = await session.browser.newPage({ viewport: { width: 800, height: 600 } });
    await page.goto(session.serve.baseUrl);
    await page.waitForSelector('#no-access h1', { timeout: 30_000 });
    const text = await page.locator('#no-access').textContent();
    expect(text).toContain('This dashboard needs its access token');
    expect(text).toContain('This address has no token');
    expect(text).toContain('nixfleet serve --token YOUR_TOKEN');
    expect(text).toContain(`${new URL(session.serve.baseUrl).origin}/?token=YOUR_TOKEN`);
    expect(await page.locator('main.layout').isVisible()).toBe(false);

    await page.goto(`${session.serve.baseUrl}?token=wrong`);
    await page.waitForFunction(() => document.getElementById('no-access')?.textContent?.includes('was refused'), null, {
      timeout: 30_000,
    });
    await page.close();
  }, 120_000);
});
