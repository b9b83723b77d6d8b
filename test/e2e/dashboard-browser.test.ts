// The dashboard in a real browser (CORE-004): headless Debian chromium loads the page, a run
// started by another `nixfleet apply` fills the grid live and ends COMPLETE without a reload,
// and when the server dies mid-run the page reconnects and heals by itself.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/store/database.js';
import { browserSession } from '../support/browser-session.js';
import { openLiveDashboard } from '../support/chromium.js';
import { makeTempDir, ROOT, spawnCli } from '../support/cli.js';
import { freshDatabaseUrl, takeDatabaseDown } from '../support/postgres.js';
import { startServe } from '../sync/support/serve-process.js';

const FLEET = `version: 1
settings:
  defaultPipeline: deploy
hosts:
  web1: { tags: [web] }
  web2: { tags: [web] }
  db1: { tags: [db] }
ops:
  pull:
    description: Fetch the new revision
    run: echo "fetching on $NIXFLEET_HOST"; sleep 2
  switch:
    description: Activate it
    run: echo "switching $NIXFLEET_HOST <img src=x onerror=alert(1)>"; sleep 1.5
  test:
    description: Smoke test
    run: echo "smoke test passed on $NIXFLEET_HOST"; sleep 0.5
pipelines:
  deploy:
    description: Full update cycle
    ops: [pull, switch, test]
  smoke:
    description: Only the smoke test
    ops: [test]
`;

const SCREENSHOT = join(ROOT, 'test-results/dashboard.png');
const env = { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' };

const session = browserSession();

/** Stops the session's `serve`, then journals one run of `pipeline` from `fleet` in a fresh directory. */
async function appliedFleet(fleet: string, pipeline: string): Promise<string> {
  if (session.serve) await session.serve.stop('SIGKILL');
  session.serve = undefined;
  const dir = makeTempDir({ 'fleet.yaml': fleet });
  const applied = await spawnCli(dir, ['apply', pipeline]);
  expect(applied.exitCode).toBe(0);
  return dir;
}

const runStatus = (page: Page) => page.locator('#run-status').getAttribute('data-status');

describe('the dashboard in a browser', () => {
  it('shows an apply from another process live, heals after the server dies mid-run, and ends COMPLETE', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    session.serve = await startServe(dir, [], env);
    const { token, port } = session.serve;
    const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(error.message));
    page.on('dialog', (dialog) => {
      pageErrors.push(`dialog: ${dialog.message()}`);
      void dialog.dismiss();
    });
    await page.goto(session.serve.url);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
    await page.waitForSelector('[data-pipeline="deploy"]');
    expect(await page.locator('#hosts tbody tr').count()).toBe(3);
    // Anything the page keeps in memory dies with a reload; this proves there was none.
    await page.evaluate(() => {
      (window as unknown as { loadMarker: number }).loadMarker = 42;
    });

    const apply = spawnCli(dir, ['apply', 'deploy'], { timeoutMs: 180_000 });
    await page.waitForSelector('#run-status[data-status="RUNNING"]', { timeout: 30_000 });
    await page.waitForSelector('#grid .cell[data-status="SUCCESS"]', { timeout: 30_000 });
    // Clicked in the page: while a run goes on, a row is redrawn whenever one of its commands
    // changes, and a click that waits for a stable element can wait long on a loaded machine.
    await page.evaluate(() => document.querySelector<HTMLElement>('#grid tr[data-host="web1"] .cell')?.click());
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    await page.screenshot({ path: join(ROOT, 'test-results/dashboard-running.png'), fullPage: true });

    // The socket dies with the server while the run goes on in the other process.
    await session.serve.stop('SIGKILL');
    session.serve = undefined;
    await page.waitForSelector('#connection[data-state="reconnecting"]', { timeout: 30_000 });
    // `--token=` form: a generated token may start with `-`, which parseArgs would take for a flag.
    session.serve = await startServe(dir, ['--port', String(port), `--token=${token}`], env);

    await page.waitForSelector('#run-status[data-status="COMPLETE"]', { timeout: 30_000 });
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
    expect((await apply).exitCode).toBe(0);
    expect(await runStatus(page)).toBe('COMPLETE');
    const cells = await page
      .locator('#grid .cell')
      .evaluateAll((tds) => tds.map((td) => td.getAttribute('data-status')));
    expect(cells).toEqual(Array(9).fill('SUCCESS'));
    expect(await page.evaluate(() => (window as unknown as { loadMarker?: number }).loadMarker)).toBe(42);

    // The page's version is the server's (beacons agree once nothing changes).
    const state = (await (
      await fetch(new URL('api/state', session.serve.baseUrl), { headers: { Authorization: `Bearer ${token}` } })
    ).json()) as { version: number };
    await page.waitForFunction((v) => document.getElementById('version')?.textContent === `v${v}`, state.version, {
      timeout: 30_000,
    });

    // Output is shown as text: markup in it stays markup-looking text, never elements.
    await page.evaluate(() => document.querySelectorAll<HTMLElement>('#grid tr[data-host="web2"] .cell')[1]?.click());
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes('switching web2'), null, {
      timeout: 30_000,
    });
    expect(await page.locator('#output').textContent()).toContain('<img src=x onerror=alert(1)>');
    expect(await page.locator('#output img').count()).toBe(0);
    expect(pageErrors).toEqual([]);

    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    await page.close();
  }, 240_000);

  it('shows output as plain text: escape sequences and control characters removed, newlines and tabs kept', async () => {
    // Real terminal noise: a window title (OSC, ended by BEL and by ST), colours (CSI), a hyperlink
    // (OSC 8), a charset switch (ESC ( B), CR LF, a lone CR, BEL, SOH and DEL.
    const dir = await appliedFleet(
      `version: 1
hosts:
  web1: {}
ops:
  noisy:
    run: |
      printf '\\033]0;window title\\007\\033[1;32mgreen\\033[0m plain\\tafter tab\\r\\n'
      printf 'second\\033(B line\\033]2;other title\\033\\\\ 10%%\\r20%%\\n'
      printf '\\033]8;;https://example.com\\033\\\\link\\033]8;;\\033\\\\ bell\\007 soh\\001 del\\177 end\\n'
pipelines:
  noise:
    ops: [noisy]
`,
      'noise',
    );
    session.serve = await startServe(dir, [], env);
    const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
    await page.goto(session.serve.url);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });
    await page.waitForSelector('#grid tr[data-host="web1"] .cell[data-status="SUCCESS"]', { timeout: 30_000 });
    await page.evaluate(() => document.querySelector<HTMLElement>('#grid tr[data-host="web1"] .cell')?.click());
    await page.waitForFunction(() => document.getElementById('output')?.textContent?.includes(' end'), null, {
      timeout: 30_000,
    });
    expect(await page.locator('#output').textContent()).toBe(
      'green plain\tafter tab\nsecond line 10%\n20%\nlink bell soh del end\n',
    );
    await page.close();
  }, 120_000);

  it('says where the output would be that a row naming a file outside logs/ has none, over HTTP and in the page', async () => {
    const dir = await appliedFleet(
      `version: 1
hosts:
  web1: {}
ops:
  hello:
    run: echo hello
pipelines:
  greet:
    ops: [hello]
`,
      'greet',
    );
    // A hand-edited row: it names a file beside the data directory (markup in its name), which
    // nixfleet must neither send nor read (CORE-003); the endpoint answered an empty 200.
    const outside = '../<img src=x onerror=alert(1)>precious.txt';
    writeFileSync(join(dir, '<img src=x onerror=alert(1)>precious.txt'), 'keep me\n');
    const db = new SqliteDriver(join(dir, '.nixfleet/nixfleet.db'));
    db.prepare('UPDATE commands SET output_file = ?').run(outside);
    db.close();
    const said = `output of c1 is not stored: the journal names ${outside}, outside the data directory's logs/, and nixfleet reads no file there`;

    session.serve = await startServe(dir, [], env);
    const response = await fetch(new URL('api/commands/c1/output', session.serve.baseUrl), {
      headers: { Authorization: `Bearer ${session.serve.token}` },
    });
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toMatch(/^application\/json/);
    expect(await response.json()).toEqual({ error: said });

    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1440,
      height: 860,
    });
    await page.waitForSelector('#grid tr[data-host="web1"] .cell[data-status="SUCCESS"]', { timeout: 30_000 });
    await page.evaluate(() => document.querySelector<HTMLElement>('#grid tr[data-host="web1"] .cell')?.click());
    await page.waitForFunction(() => document.getElementById('output-title')?.textContent?.startsWith('c1'), null, {
      timeout: 30_000,
    });
    await page.waitForFunction((text) => document.getElementById('output')?.textContent === text, said, {
      timeout: 30_000,
    });
    expect(await page.locator('#output img').count()).toBe(0);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 120_000);

  it('says the journal is unavailable while its PostgreSQL server is away, and goes live again after', async () => {
    if (session.serve) await session.serve.stop('SIGKILL');
    session.serve = undefined;
    const url = freshDatabaseUrl();
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    session.serve = await startServe(dir, [], { ...env, NIXFLEET_DATABASE_URL: url });
    const page = await session.browser.newPage({ viewport: { width: 1440, height: 860 } });
    await page.goto(session.serve.url);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });

    const down = takeDatabaseDown(url);
    try {
      // Told so by the server (1013), then refused a socket while it lasts: the page says why,
      // through every reconnect attempt, not that the server is gone.
      await page.waitForSelector('#connection[data-state="journal unavailable"]', { timeout: 30_000 });
      const seen = await page.evaluate(
        () =>
          new Promise<string[]>((resolve) => {
            const states: string[] = [];
            const box = document.getElementById('connection')!;
            const observer = new MutationObserver(() => states.push(box.dataset.state ?? ''));
            observer.observe(box, { attributes: true, attributeFilter: ['data-state'] });
            setTimeout(() => {
              observer.disconnect();
              resolve([...states, box.dataset.state ?? '']);
            }, 4000);
          }),
      );
      expect(new Set(seen)).toEqual(new Set(['journal unavailable']));
    } finally {
      down.end();
    }
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 60_000 });
    await page.close();
  }, 120_000);
});
