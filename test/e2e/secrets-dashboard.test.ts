// CORE-010 on the dashboard: `nixfleet serve` runs a pipeline that prints planted secrets (from
// the page's Apply, inside the server) while another `nixfleet apply` prints them too. A real
// chromium shows both and every command's output; a WebSocket client records every frame. The
// value is in none of the frames, the page, the API answers, or the data directory (read while
// the server holds the SQLite WAL open).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { spawnCli } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';
import { SyncProbe } from '../sync/support/sync-probe.js';
import { filesUnder, leaks, secretFleet, secretFleetDir, TOKEN } from './support/secret-fleet.js';

const env = { NF_TEST_TOKEN: TOKEN, NIXFLEET_SYNC_BEACON_INTERVAL: '500ms' };

let browser: Browser;
let serve: ServeProcess | undefined;
let probe: SyncProbe | undefined;

beforeAll(async () => {
  browser = await launchChromium();
});

afterAll(async () => {
  probe?.close();
  await browser?.close();
  if (serve) await serve.stop('SIGKILL');
});

type Run = { id: string; status: string };
type Command = { id: string };

describe('secrets on the dashboard', () => {
  it('appear in no frame, page, API answer or data file', async () => {
    const absent = '  absent:\n    run: echo {{ secret.absent }}\n';
    const dir = secretFleetDir(
      secretFleet('  h1: {}\n  h2: {}', absent).replace('secrets:\n', 'secrets:\n  absent: { env: NF_NOT_SET }\n'),
    );
    serve = await startServe(dir, [], env);
    const auth = { Authorization: `Bearer ${serve.token}` };
    const api = (path: string) => fetch(new URL(path, serve!.baseUrl), { headers: auth });

    const frames: string[] = [];
    probe = await SyncProbe.connect(serve.baseUrl, { token: serve.token, followProtocol: true });
    probe.socket.on('message', (data) => frames.push(String(data)));
    const page = await browser.newPage({ viewport: { width: 1440, height: 900 } });
    page.on('websocket', (socket) => {
      socket.on('framereceived', (frame) => frames.push(String(frame.payload)));
      socket.on('framesent', (frame) => frames.push(String(frame.payload)));
    });
    await page.goto(serve.url);
    await page.waitForSelector('#connection[data-state="live"]', { timeout: 30_000 });

    // A secret the server cannot read refuses the Apply (400, named), and nothing is journaled.
    const refused = await fetch(new URL('api/apply', serve.baseUrl), {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'absent' }),
    });
    expect(refused.status).toBe(400);
    expect(await refused.text()).toContain(
      'secret `absent` (env NF_NOT_SET): environment variable NF_NOT_SET is not set',
    );

    // One run inside the server (the page's Apply goes through this endpoint), one from another process.
    const applied = await fetch(new URL('api/apply', serve.baseUrl), {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'leak' }),
    });
    expect(applied.status).toBe(202);
    const runs = () => (probe!.model.state?.pipelines ?? []) as Run[];
    // The two runs share their hosts, so the second starts once the first has let them go.
    await probe.waitFor(
      () => runs().length === 1 && runs().every((run) => run.status !== 'RUNNING'),
      90_000,
      'the dashboard run to finish',
    );
    const other = spawnCli(dir, ['apply', 'fail', '--renderer', 'plain'], { env, timeoutMs: 110_000 });
    await probe.waitFor(
      () => runs().length === 2 && runs().every((run) => run.status !== 'RUNNING'),
      90_000,
      'both runs to finish',
    );
    expect((await other).exitCode).toBe(1);
    expect(
      runs()
        .map((run) => run.status)
        .sort(),
    ).toEqual(['COMPLETE', 'FAILED']);

    // Every command's output, as the page shows it and as the API serves it.
    const state = await (await api('api/state')).text();
    const commands = (JSON.parse(state) as { state: { commands: Command[] } }).state.commands;
    expect(commands.length).toBeGreaterThanOrEqual(10);
    const outputs: Record<string, string> = {};
    for (const command of commands) outputs[command.id] = await (await api(`api/commands/${command.id}/output`)).text();
    const shown = Object.values(outputs).join('\n');
    expect(shown).toContain('token=***');
    expect(shown).toContain('Bearer *** on h2');
    expect(shown).toContain('failing with ***');
    const pageTexts: string[] = [];
    await page.waitForSelector('#grid .cell[data-command-id]', { timeout: 30_000 });
    for (const id of await page
      .locator('#grid .cell[data-command-id]')
      .evaluateAll((cells) => cells.map((c) => c.getAttribute('data-command-id')))) {
      await page.evaluate((commandId) => {
        document.querySelector<HTMLElement>(`#grid .cell[data-command-id="${commandId}"]`)?.click();
      }, id);
      await page.waitForFunction(() => document.getElementById('output')?.textContent !== '', null, {
        timeout: 30_000,
      });
      pageTexts.push((await page.locator('#output').textContent()) ?? '');
    }
    expect(pageTexts.join('\n')).toContain('***');
    const html = await page.content();

    const dataDir = join(dir, '.nixfleet');
    expect(existsSync(join(dataDir, 'nixfleet.db-wal'))).toBe(true);
    expect(frames.length).toBeGreaterThan(5);
    expect(
      leaks(
        {
          frames: frames.join('\n'),
          state,
          outputs: shown,
          page: html + pageTexts.join('\n'),
          'serve output': serve.output(),
        },
        filesUnder(dataDir),
      ),
    ).toEqual([]);
    await page.close();
  }, 180_000);
});
