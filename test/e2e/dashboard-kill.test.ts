// The dashboard's Kill buttons in a real browser (see CORE-011): headless Debian chromium, the
// real `nixfleet serve`, and a run owned by another `nixfleet apply` process. The per-host Kill
// ends only that host's running command; the run's Kill ends the rest and the run is CANCELLED.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { waitForPids } from '../engine/support/wait-for.js';
import { browserSession } from '../support/browser-session.js';
import { openLiveDashboard } from '../support/chromium.js';
import { makeTempDir, spawnCli } from '../support/cli.js';
import { startServe } from '../sync/support/serve-process.js';

const FLEET = `version: 1
hosts: { web1: {}, web2: {} }
ops:
  hang:
    run: echo $$ > pgid-$NIXFLEET_HOST; sleep 600
  after:
    run: "true"
pipelines:
  long: { ops: [hang, after] }
`;

const session = browserSession();

describe('Kill in the dashboard', () => {
  it('kills one host’s running command, then the whole run, of a run owned by another process', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    session.serve = await startServe(dir, [], { NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' });
    const { page, pageErrors } = await openLiveDashboard(session.browser, session.serve.url, {
      width: 1440,
      height: 860,
    });

    const apply = spawnCli(dir, ['apply', 'long', '--json'], { timeoutMs: 240_000 });
    const [web1, web2] = await waitForPids([join(dir, 'pgid-web1'), join(dir, 'pgid-web2')]);
    const group = (host: string) => (host === 'web1' ? web1! : web2!);

    // Kill needs the token, like every mutating route.
    const refused = await fetch(new URL('api/runs/r1/cancel', session.serve.baseUrl), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ kill: true }),
    });
    expect(refused.status).toBe(401);
    // Bodies that say something else than cancel, kill, or kill one host of the run are refused.
    for (const [body, error] of [
      [{ host: 'web1' }, '`host` needs `"kill": true` (a single host can only be killed)'],
      [{ kill: 'yes' }, '`kill` must be true or false'],
      [{ kill: true, host: 'db9' }, 'run r1 has no host `db9`'],
    ] as const) {
      const answer = await fetch(new URL('api/runs/r1/cancel', session.serve.baseUrl), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${session.serve.token}` },
        body: JSON.stringify(body),
      });
      expect(answer.status, JSON.stringify(body)).toBe(400);
      expect(((await answer.json()) as { error: string }).error).toBe(error);
    }

    const cell = (host: string, stage: number) => `#grid tr[data-host="${host}"] .cell:nth-of-type(${stage + 1})`;
    await page.waitForSelector('[data-kill-host="web1"]', { timeout: 30_000 });
    // Clicked in the page: a running row is redrawn whenever one of its commands changes.
    await page.evaluate(() => document.querySelector<HTMLElement>('[data-kill-host="web1"]')?.click());
    await page.waitForSelector(`${cell('web1', 0)}[data-status="CANCELLED"]`, { timeout: 30_000 });
    expect(liveGroupMembers(group('web1'))).toEqual([]);
    await page.waitForSelector(`${cell('web1', 1)}[data-status="SKIPPED"]`, { timeout: 30_000 });
    // The run goes on: web2 still runs.
    expect(await page.locator(cell('web2', 0)).getAttribute('data-status')).toBe('EXECUTING');
    expect(await page.locator('#run-status').getAttribute('data-status')).toBe('RUNNING');
    expect(liveGroupMembers(group('web2')).length).toBeGreaterThan(0);
    expect(await page.locator('[data-kill-host="web1"]').count()).toBe(0);

    await page.evaluate(() => document.querySelector<HTMLElement>('#kill-run')?.click());
    await page.waitForSelector('#run-status[data-status="CANCELLED"]', { timeout: 30_000 });
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    const report = JSON.parse(String(result.stdout)) as {
      hosts: Record<string, { status: string; error: string | null }[]>;
    };
    expect(report.hosts.web1!.map((c) => c.status)).toEqual(['CANCELLED', 'SKIPPED']);
    expect(report.hosts.web2!.map((c) => c.status)).toEqual(['CANCELLED', 'CANCELLED']);
    expect(report.hosts.web2![0]!.error).toBe('killed by cancel');
    expect(liveGroupMembers(group('web2'))).toEqual([]);
    expect(pageErrors).toEqual([]);
    await page.close();
  }, 240_000);
});
