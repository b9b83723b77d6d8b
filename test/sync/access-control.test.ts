// CORE-004 access rules, against a real server: the token guards the socket and every /api call,
// a foreign Origin never gets a socket, and the server listens on loopback unless told otherwise.
import { type RequestOptions, request } from 'node:http';
import { networkInterfaces } from 'node:os';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { type Fixture, startFixture, TOKEN } from './support/sync-fixture.js';
import { SyncProbe } from './support/sync-probe.js';

vi.setConfig({ testTimeout: 60_000 });

let fixture: Fixture | undefined;
afterEach(async () => {
  await fixture?.close();
  fixture = undefined;
});

/** The HTTP status a WebSocket upgrade ends with (101 when it was accepted). */
function upgradeStatus(url: string, headers: Record<string, string> = {}): Promise<number> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => {
      ws.terminate();
      resolve(101);
    });
    ws.once('unexpected-response', (_req, res) => {
      resolve(res.statusCode ?? 0);
      ws.terminate();
    });
    ws.once('error', (error) => {
      if (!String(error.message).includes('Unexpected server response')) reject(error);
    });
  });
}

/** The HTTP status of a GET sent with exactly these headers. */
function httpStatus(target: RequestOptions, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ ...target, headers });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

function wsUrl(query = ''): string {
  const url = new URL(`/ws${query}`, fixture!.server.url);
  url.protocol = 'ws:';
  return url.toString();
}

describe('the socket needs the token', () => {
  it('refuses an upgrade with no token or a wrong one', async () => {
    fixture = await startFixture();
    expect(await upgradeStatus(wsUrl())).toBe(401);
    expect(await upgradeStatus(wsUrl('?token=wrong-token-0123456789'))).toBe(401);
    expect(await upgradeStatus(wsUrl(), { Authorization: 'Bearer nope' })).toBe(401);
    expect(fixture.server.hub.size).toBe(0);
  });

  it('accepts the token as ?token= or as a Bearer header', async () => {
    fixture = await startFixture();
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`))).toBe(101);
    expect(await upgradeStatus(wsUrl(), { Authorization: `Bearer ${TOKEN}` })).toBe(101);
  });

  it('takes ?token= beside an Authorization of another scheme, as a browser behind a login proxy sends', async () => {
    fixture = await startFixture();
    const basic = { Authorization: `Basic ${Buffer.from('user:pass').toString('base64')}` };
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), basic)).toBe(101);
    expect(await upgradeStatus(wsUrl('?token=wrong-token-0123456789'), basic)).toBe(401);
    // A Bearer header is the token given, even beside a right one in the query.
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Authorization: 'Bearer nope' })).toBe(401);
    const output = new URL(`/api/commands/c1/output?token=${TOKEN}`, fixture.server.url);
    expect((await fetch(output, { headers: basic })).status).not.toBe(401);
    // Reading routes that need the header still refuse the query.
    const state = new URL(`/api/state?token=${TOKEN}`, fixture.server.url);
    expect((await fetch(state, { headers: basic })).status).toBe(401);
  });

  it('answers 404 for an upgrade anywhere but /ws', async () => {
    fixture = await startFixture();
    const url = new URL(`/socket?token=${TOKEN}`, fixture.server.url);
    url.protocol = 'ws:';
    expect(await upgradeStatus(url.toString())).toBe(404);
  });
});

describe('the Origin check on upgrade', () => {
  it('refuses a page from another origin even with the right token', async () => {
    fixture = await startFixture();
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Origin: 'http://evil.example' })).toBe(403);
    const otherPort = `http://127.0.0.1:${fixture.server.port + 1}`;
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Origin: otherPort })).toBe(403);
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Origin: 'null' })).toBe(403);
  });

  it('refuses a page whose own name was made to point at the server (DNS rebinding), on the socket and over HTTP', async () => {
    fixture = await startFixture();
    const rebound = `evil.example:${fixture.server.port}`;
    const headers = { Host: rebound, Origin: `http://${rebound}` };
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), headers)).toBe(403);
    for (const path of ['', 'api/state']) {
      const url = new URL(path, fixture.server.url);
      const status = await httpStatus(
        { host: url.hostname, port: url.port, path: url.pathname },
        {
          ...headers,
          Authorization: `Bearer ${TOKEN}`,
        },
      );
      expect(status, path).toBe(403);
    }
    // Its loopback names are its own.
    for (const name of ['localhost', '127.0.0.1']) {
      const own = `${name}:${fixture.server.port}`;
      expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Host: own, Origin: `http://${own}` }), name).toBe(101);
    }
    // A name with more after it is no name of its own.
    for (const host of [`localhost:${fixture.server.port}@evil.example`, `evil.example:${fixture.server.port}`]) {
      expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Host: host }), host).toBe(403);
    }
  });

  it('knows its bind address however a browser spells it: `::ffff:127.0.0.1` arrives as `[::ffff:7f00:1]`', async () => {
    fixture = await startFixture({ bind: '::ffff:127.0.0.1' });
    const port = fixture.server.port;
    for (const host of [`[::ffff:7f00:1]:${port}`, `[::ffff:127.0.0.1]:${port}`, `127.0.0.1:${port}`]) {
      expect(await httpStatus({ host: '::ffff:127.0.0.1', port, path: '/' }, { Host: host }), host).toBe(200);
    }
  });

  it('lets in the server’s own origin and clients that send none', async () => {
    fixture = await startFixture();
    const own = `http://127.0.0.1:${fixture.server.port}`;
    expect(await upgradeStatus(wsUrl(`?token=${TOKEN}`), { Origin: own })).toBe(101);
    const probe = await SyncProbe.connect(fixture.server.url, { token: TOKEN });
    await probe.waitFor(() => probe.messages.length > 0);
    expect(probe.messages[0]?.type).toBe('init');
    probe.close();
  });
});

describe('the HTTP API needs the token', () => {
  it('answers 401 without it on every /api route, and 200 with it', async () => {
    fixture = await startFixture();
    const base = fixture.server.url;
    const calls: [string, string][] = [
      ['GET', 'api/state'],
      ['POST', 'api/apply'],
      ['POST', 'api/runs/r1/cancel'],
      ['GET', 'api/commands/c1/output'],
    ];
    for (const [method, path] of calls) {
      const response = await fetch(new URL(path, base), { method });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(await response.json()).toHaveProperty('error');
    }
    const wrong = await fetch(new URL('api/state', base), { headers: { Authorization: 'Bearer wrong' } });
    expect(wrong.status).toBe(401);
    const ok = await fetch(new URL('api/state', base), { headers: { Authorization: `Bearer ${TOKEN}` } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({ version: fixture.journal.version(), state: { registry: null } });
  });

  it('does not take the token from the query string for state-changing calls', async () => {
    fixture = await startFixture();
    const response = await fetch(new URL(`api/apply?token=${TOKEN}`, fixture.server.url), { method: 'POST' });
    expect(response.status).toBe(401);
  });
});

describe('binding', () => {
  it('listens on 127.0.0.1 by default, out of reach of other interfaces', async () => {
    fixture = await startFixture();
    expect(fixture.server.bind).toBe('127.0.0.1');
    const external = Object.values(networkInterfaces())
      .flat()
      .find((i) => i && i.family === 'IPv4' && !i.internal)?.address;
    if (external) {
      const attempt = fetch(`http://${external}:${fixture.server.port}/`, { signal: AbortSignal.timeout(3000) });
      await expect(attempt).rejects.toThrow();
    }
    const local = await fetch(fixture.server.url);
    expect(local.status).toBe(200);
  });
});
