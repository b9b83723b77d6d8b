// CORE-004, the server's clock, in a real browser: a page whose own clock is far off (Playwright's
// page.clock moves chromium's Date) still counts a rollout's pause down and times a run and a
// running command against the clock of the machine running `nixfleet serve`, which stamped them;
// and a browser clock set while the page is open is caught up with by the next beacon.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { waitFor } from '../engine/support/wait-for.js';
import { browserSession } from '../support/browser-session.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { commandStatus } from '../support/journal-peek.js';
import type { ServeProcess } from '../sync/support/serve-process.js';
import { startServe } from '../sync/support/serve-process.js';

const session = browserSession();

const MINUTE = 60_000;
/** Rendering waits 30 ms and ticks once a second; the clock offset is off by a message's transit. */
const TOLERANCE_MS = 2_500;

/** Reads back what fleet-view.js's formatDuration wrote: `250ms`, `4.2s`, `42s`, `12m04s`, `1h05m`. */
function parseDuration(text: string): number {
  const match = /^(?:(\d+)h(\d\d)m|(\d+)m(\d\d)s|(\d+(?:\.\d)?)s|(\d+)ms)$/.exec(text);
  if (!match) throw new Error(`not a duration: ${JSON.stringify(text)}`);
  const [, h, hm, m, ms, s, millis] = match;
  if (h !== undefined) return Number(h) * 60 * MINUTE + Number(hm) * MINUTE;
  if (m !== undefined) return Number(m) * MINUTE + Number(ms) * 1000;
  if (s !== undefined) return Number(s) * 1000;
  return Number(millis);
}

interface ApiState {
  state: {
    pipelines: { id: string; createdAt: number; pause: { until: number } | null }[];
    commands: { hostId: string; op: string; id: string; startedAt: number | null }[];
  };
}

async function apiState(serve: ServeProcess): Promise<ApiState['state']> {
  const response = await fetch(new URL('/api/state', serve.baseUrl), {
    headers: { Authorization: `Bearer ${serve.token}` },
  });
  expect(response.status).toBe(200);
  return ((await response.json()) as ApiState).state;
}

/** A dashboard whose browser believes it is `skewMs` later than it is (earlier when negative). */
async function skewedPage(serve: ServeProcess, skewMs: number): Promise<{ page: Page; pageErrors: string[] }> {
  const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
  const pageErrors: string[] = [];
  page.on('pageerror', (error) => pageErrors.push(error.message));
  // Installed before the page loads, and running on from there in real time.
  await page.clock.install({ time: Date.now() + skewMs });
  await page.goto(serve.url);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
  // The page's clock really is that far off.
  const pageNow = await page.evaluate(() => Date.now());
  expect(Math.abs(pageNow - Date.now() - skewMs)).toBeLessThan(5_000);
  return { page, pageErrors };
}

/** The run head's countdown and duration: `paused before batch 1/1 (59m52s left)`, then `8.1s`. */
async function runHead(page: Page): Promise<{ left: number; duration: number }> {
  const [stage, duration] = await page.locator('#run-head > span.muted').allTextContents();
  const left = /^paused before batch 1\/1 \((.+) left\)$/.exec(stage ?? '');
  if (!left) throw new Error(`not paused: ${JSON.stringify(stage)}`);
  return { left: parseDuration(left[1]!), duration: parseDuration(duration ?? '') };
}

/** Retries `check` until it passes: the page may not have drawn its newest second yet. */
async function eventually(check: () => Promise<void>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await check();
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
}

describe("the dashboard reads times against the server's clock", () => {
  it('counts a pause down and times the run right on a browser 17 minutes ahead or 23 behind', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {} }
ops:
  build: { run: 'true' }
pipelines:
  deploy: { ops: [build], rollout: { canary: 1, batch: 1, pause: 1h } }
`,
    });
    const serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    session.serve = serve;
    const apply = spawnCli(dir, ['apply', 'deploy'], { timeoutMs: 120_000 });
    try {
      await waitFor(() => commandStatus(dir, 'h1', 'build') === 'SUCCESS', 'the canary done');
      let run: ApiState['state']['pipelines'][number] | undefined;
      for (const deadline = Date.now() + 30_000; !run?.pause; ) {
        if (Date.now() > deadline) throw new Error('the run did not pause');
        run = (await apiState(serve)).pipelines.find((p) => p.id === 'r1');
        if (!run?.pause) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      const { until } = run.pause!;
      const { createdAt } = run;

      const expectRight = async (page: Page) =>
        eventually(async () => {
          const shown = await runHead(page);
          // This process and serve share one clock: what the page shows is what is left, and how
          // long the run has been going, by that clock.
          expect(Math.abs(shown.left - (until - Date.now()))).toBeLessThan(TOLERANCE_MS);
          expect(Math.abs(shown.duration - (Date.now() - createdAt))).toBeLessThan(TOLERANCE_MS);
        });

      const ahead = await skewedPage(serve, 17 * MINUTE);
      const behind = await skewedPage(serve, -23 * MINUTE);
      await expectRight(ahead.page);
      await expectRight(behind.page);

      // The browser's clock is set while the page is open (now 41 minutes ahead): the next
      // beacon (every 500 ms here) brings the page back to the server's clock.
      await ahead.page.clock.setSystemTime(Date.now() + 41 * MINUTE);
      // Past the page's next tick (1 s) and beacon, so what is checked was drawn after the jump.
      await new Promise((resolve) => setTimeout(resolve, 2_000));
      await expectRight(ahead.page);
      expect([...ahead.pageErrors, ...behind.pageErrors]).toEqual([]);
      await ahead.page.close();
      await behind.page.close();

      const cancel = await runCli(dir, ['cancel', 'r1']);
      expect(cancel.exitCode, cancel.stderr).toBe(0);
      expect((await apply).exitCode).toBe(130);
    } finally {
      apply.kill('SIGKILL');
    }
  }, 240_000);

  it('times a running command right on a browser 23 minutes behind or 17 ahead', async () => {
    // h1's build runs until the test lets it finish.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {} }
ops:
  build: { run: 'while [ ! -f go ]; do sleep 0.05; done' }
pipelines:
  deploy: { ops: [build] }
`,
    });
    await session.serve?.stop('SIGKILL'); // the previous test's
    const serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    session.serve = serve;
    const apply = spawnCli(dir, ['apply', 'deploy'], { timeoutMs: 120_000 });
    try {
      await waitFor(() => commandStatus(dir, 'h1', 'build') === 'EXECUTING', 'h1 building');
      const command = (await apiState(serve)).commands.find((c) => c.hostId === 'h1' && c.op === 'build');
      const startedAt = command?.startedAt;
      if (!command || typeof startedAt !== 'number') throw new Error('h1 build has not started');
      // Let it run long enough that a clock read the wrong way round cannot pass for the right one.
      await new Promise((resolve) => setTimeout(resolve, 3_000));

      for (const skew of [-23 * MINUTE, 17 * MINUTE]) {
        const { page, pageErrors } = await skewedPage(serve, skew);
        const cell = page.locator(`#grid td[data-command-id="${command.id}"]`);
        await eventually(async () => {
          expect(await cell.getAttribute('data-status')).toBe('EXECUTING');
          const detail = (await cell.locator('.cell-detail').textContent()) ?? '';
          const elapsed = parseDuration(detail.split(' · ').at(-1) ?? '');
          expect(Math.abs(elapsed - (Date.now() - startedAt))).toBeLessThan(TOLERANCE_MS);
        });
        expect(pageErrors).toEqual([]);
        await page.close();
      }
    } finally {
      writeFileSync(join(dir, 'go'), '');
    }
    expect((await apply).exitCode).toBe(0);
  }, 240_000);
});
