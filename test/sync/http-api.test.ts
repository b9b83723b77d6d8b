// The HTTP side of `nixfleet serve` (CORE-004): the page and its files with security headers,
// 404/405/413 answers, and command output streamed from the journal's files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type Fixture, startFixture, TOKEN, writeFromAnotherProcess } from './support/sync-fixture.js';

vi.setConfig({ testTimeout: 60_000 });

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

const auth = { Authorization: `Bearer ${TOKEN}` };

describe('the dashboard page', () => {
  it('is served with a strict Content-Security-Policy and its assets beside it', async () => {
    fixture = await startFixture();
    const page = await fetch(fixture.server.url);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('referrer-policy')).toBe('no-referrer');
    const html = await page.text();
    for (const asset of ['/assets/app.js', '/assets/style.css']) {
      expect(html).toContain(asset);
      const file = await fetch(new URL(asset, fixture.server.url));
      expect(file.status, asset).toBe(200);
    }
    const client = await fetch(new URL('/assets/sync-client.js', fixture.server.url));
    expect(client.headers.get('content-type')).toMatch(/^text\/javascript/);
  });

  it('never serves a file outside the static directory', async () => {
    fixture = await startFixture();
    for (const path of ['/assets/..%2fsync%2fsync-server.ts', '/assets/.hidden.js', '/assets/%2e%2e%2fpackage.json']) {
      const response = await fetch(new URL(path, fixture.server.url));
      expect(response.status, path).toBe(404);
    }
  });
});

describe('errors', () => {
  it('answers 404 for unknown paths and 405 with Allow for a wrong method', async () => {
    fixture = await startFixture();
    const missing = await fetch(new URL('/api/nothing', fixture.server.url), { headers: auth });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toHaveProperty('error');
    const wrong = await fetch(new URL('/api/apply', fixture.server.url), { headers: auth });
    expect(wrong.status).toBe(405);
    expect(wrong.headers.get('allow')).toBe('POST');
  });

  it('refuses bodies over the size limit, and non-JSON bodies', async () => {
    fixture = await startFixture();
    const url = new URL('/api/apply', fixture.server.url);
    const headers = { ...auth, 'Content-Type': 'application/json' };
    const big = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ target: 'x'.repeat(20_000) }) });
    expect(big.status).toBe(413);
    const form = await fetch(url, { method: 'POST', headers: { ...auth, 'Content-Type': 'text/plain' }, body: 'x' });
    expect(form.status).toBe(415);
  });

  it('refuses an apply whose `rollback` is not true or false, before anything else', async () => {
    fixture = await startFixture();
    const response = await fetch(new URL('/api/apply', fixture.server.url), {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"target":"deploy","rollback":"no"}',
    });
    expect(response.status).toBe(400);
    expect((await response.json()).error).toBe('`rollback` must be true or false');
  });

  it('answers 503 for apply when the server has no fleet file', async () => {
    fixture = await startFixture();
    const response = await fetch(new URL('/api/apply', fixture.server.url), {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: '{"target":"deploy"}',
    });
    expect(response.status).toBe(503);
  });
});

describe('command output', () => {
  it('streams the output file as plain text, untouched', async () => {
    fixture = await startFixture();
    await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1');
    const command = fixture.journal.listCommands({ limit: 10 }).find((c) => c.op === 'pull')!;
    const response = await fetch(new URL(`/api/commands/${command.id}/output`, fixture.server.url), { headers: auth });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await response.text()).toBe('pull on web1: <b>ok</b>\n');
    const tail = await fetch(new URL(`/api/commands/${command.id}/output?tail=8`, fixture.server.url), {
      headers: auth,
    });
    expect(await tail.text()).toBe('>ok</b>\n');
  });

  it('takes the token from the query string too, so the output can be linked', async () => {
    fixture = await startFixture();
    await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1');
    const command = fixture.journal.listCommands({ limit: 10 })[0]!;
    const response = await fetch(new URL(`/api/commands/${command.id}/output?token=${TOKEN}`, fixture.server.url));
    expect(response.status).toBe(200);
    const unknown = await fetch(new URL('/api/commands/c999/output', fixture.server.url), { headers: auth });
    expect(unknown.status).toBe(404);
  });

  it('answers at once, with what is there instead, when the output file is a FIFO or a directory', async () => {
    fixture = await startFixture();
    await writeFromAnotherProcess(fixture.dataDir, 'run', 'web1');
    const command = fixture.journal.listCommands({ limit: 10 }).find((c) => c.op === 'pull')!;
    const path = command.outputFile!;
    const url = new URL(`/api/commands/${command.id}/output`, fixture.server.url);
    rmSync(path);
    execFileSync('mkfifo', [path]);
    // No writer ever opens this FIFO: an answer that waited for one would never come.
    const fifo = await fetch(url, { headers: auth, signal: AbortSignal.timeout(20_000) });
    expect(fifo.status).toBe(500);
    expect((await fifo.json()).error).toBe(`the output of ${command.id} is a FIFO, not a file`);
    rmSync(path);
    mkdirSync(path);
    const directory = await fetch(url, { headers: auth, signal: AbortSignal.timeout(20_000) });
    expect(directory.status).toBe(500);
    expect((await directory.json()).error).toBe(`the output of ${command.id} is a directory, not a file`);
  });
});
