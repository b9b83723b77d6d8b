// CORE-004 against the real `nixfleet serve`: requests no page sends (a target that is not a path,
// bad frames on a socket being closed) are refused without ending the server, refused upgrades
// carry the same security headers as every response, and a loopback address written another way
// is still loopback (the Host check stays on, and no warning says otherwise).
import { connect } from 'node:net';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { WebSocket } from 'ws';
import { makeTempDir } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';

vi.setConfig({ testTimeout: 90_000 });

const FLEET = 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hello\n';

let serve: ServeProcess | undefined;
afterEach(async () => {
  if (serve) await serve.stop('SIGKILL');
  serve = undefined;
});

/** Sends `lines` as one raw HTTP request and returns the whole response, up to the server's close. */
function rawRequest(port: number, lines: readonly string[], address = '127.0.0.1'): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, address, () => socket.write(`${lines.join('\r\n')}\r\n\r\n`));
    let response = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      response += chunk;
      // A response with a body ends once the body is there; keep-alive would hold the socket.
      const length = /^content-length: (\d+)$/im.exec(response)?.[1];
      const end = response.indexOf('\r\n\r\n');
      if (length !== undefined && end !== -1 && response.length >= end + 4 + Number(length)) socket.end();
    });
    socket.on('end', () => resolve(response));
    socket.on('close', () => resolve(response));
    socket.on('error', reject);
  });
}

async function expectServing(server: ServeProcess): Promise<void> {
  const page = await rawRequest(server.port, ['GET / HTTP/1.1', `Host: 127.0.0.1:${server.port}`, 'Connection: close']);
  expect(page).toMatch(/^HTTP\/1\.1 200/);
  expect(isRunning(server.child.pid!)).toBe(true);
  expect(server.errors()).not.toMatch(/\n\s+at |internal error/);
}

describe('requests no page sends', () => {
  it('a target that URL syntax reads as a host, or no path at all, is refused as a request and as an upgrade; the server stays up', async () => {
    serve = await startServe(makeTempDir({ 'fleet.yaml': FLEET }));
    const { port } = serve;
    // `new URL` of such a target once threw in the request listener and ended the process. Those
    // that start with `/` are paths the server does not have; `*` is no path at all.
    const answers: Record<string, string> = {};
    for (const target of ['//a:b', '//%', '//[', '*']) {
      const lines = [`GET ${target} HTTP/1.1`, `Host: 127.0.0.1:${port}`, 'Connection: close'];
      answers[target] = (await rawRequest(port, lines)).slice(0, 12);
    }
    expect(answers).toEqual({
      '//a:b': 'HTTP/1.1 404',
      '//%': 'HTTP/1.1 404',
      '//[': 'HTTP/1.1 404',
      '*': 'HTTP/1.1 400',
    });
    // The upgrade looks at the path before anything else, so no Host, Origin or token is needed.
    const upgrade = await rawRequest(port, [
      'GET //a:b HTTP/1.1',
      'Host: evil.example',
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
    ]);
    expect(upgrade).toMatch(/^HTTP\/1\.1 404/);
    await expectServing(serve);
  });

  it('a socket of the old protocol that sends a bad frame while it is closed does not end the server', async () => {
    serve = await startServe(makeTempDir({ 'fleet.yaml': FLEET }));
    // No `protocol=2`: accepted, then closed with 4000; the client writes past the size limit.
    const ws = new WebSocket(`ws://127.0.0.1:${serve.port}/ws?token=${serve.token}`);
    ws.on('error', () => {});
    const code = await new Promise<number>((resolve) => {
      ws.on('open', () => ws.send('x'.repeat(2000)));
      ws.on('close', (closeCode) => resolve(closeCode));
    });
    expect([4000, 1009]).toContain(code);
    await expectServing(serve);
  });

  it('a refused upgrade carries the security headers of every response', async () => {
    serve = await startServe(makeTempDir({ 'fleet.yaml': FLEET }));
    const { port } = serve;
    const upgrade = (extra: readonly string[], path = '/ws?protocol=2', key = 'dGhlIHNhbXBsZSBub25jZQ==') =>
      rawRequest(port, [
        `GET ${path} HTTP/1.1`,
        `Host: 127.0.0.1:${port}`,
        'Upgrade: websocket',
        'Connection: Upgrade',
        `Sec-WebSocket-Key: ${key}`,
        'Sec-WebSocket-Version: 13',
        ...extra,
      ]);
    const authorized = `Authorization: Bearer ${serve.token}`;
    const refusals = {
      401: await upgrade([]),
      403: await upgrade([`Authorization: Bearer ${serve.token}`, 'Origin: http://evil.example']),
      404: await upgrade([`Authorization: Bearer ${serve.token}`], '/elsewhere'),
      // Past our checks, ws refuses a malformed handshake itself: with the same headers too.
      400: await upgrade([authorized], '/ws?protocol=2', 'not-a-key'),
      '400 (extensions)': await upgrade([authorized, 'Sec-WebSocket-Extensions: permessage-deflate; =bad']),
    };
    for (const [status, response] of Object.entries(refusals)) {
      expect(response, status).toMatch(new RegExp(`^HTTP/1\\.1 ${status.slice(0, 3)} `));
      expect(response, status).toMatch(/^X-Content-Type-Options: nosniff\r$/m);
      expect(response, status).toMatch(/^Content-Security-Policy: default-src 'none'/m);
      expect(response, status).toMatch(/^Referrer-Policy: no-referrer\r$/m);
      expect(response, status).toMatch(/^Cache-Control: no-store\r$/m);
    }
  });
});

describe('requests Node answers before any route', () => {
  it('an Upgrade other than websocket (curl --http2) is told why, not an empty 404; the parser’s own refusals carry the security headers', async () => {
    serve = await startServe(makeTempDir({ 'fleet.yaml': FLEET }));
    const { port } = serve;
    const host = `Host: 127.0.0.1:${port}`;
    const h2c = await rawRequest(port, ['GET / HTTP/1.1', host, 'Connection: Upgrade, HTTP2-Settings', 'Upgrade: h2c']);
    expect(h2c).toMatch(/^HTTP\/1\.1 400 /);
    expect(h2c.slice(h2c.indexOf('\r\n\r\n') + 4)).toBe(
      JSON.stringify({
        error: 'this server does not switch to "h2c": send the request without an Upgrade header (HTTP/1.1)',
      }),
    );
    const refusals = {
      431: await rawRequest(port, ['GET / HTTP/1.1', host, `X-Big: ${'a'.repeat(20_000)}`]),
      400: await rawRequest(port, ['BREW / HTTP/1.1', host]),
      '400 (framing)': await rawRequest(port, [
        'POST /api/apply HTTP/1.1',
        host,
        'Transfer-Encoding: chunked',
        'Content-Length: 3',
      ]),
      '400 (upgrade)': h2c,
    };
    for (const [status, response] of Object.entries(refusals)) {
      expect(response, status).toMatch(new RegExp(`^HTTP/1\\.1 ${status.slice(0, 3)} `));
      expect(response, status).toMatch(/^X-Content-Type-Options: nosniff\r$/m);
      expect(response, status).toMatch(/^Content-Security-Policy: default-src 'none'/m);
      expect(response, status).toMatch(/^Cache-Control: no-store\r$/m);
    }
    await expectServing(serve);
  });
});

describe('a loopback address written another way', () => {
  it.each([
    ['0:0:0:0:0:0:0:1', '::1'],
    ['::ffff:127.0.0.1', '127.0.0.1'],
  ])(
    '--bind %s answers only to loopback names, and no warning says it is reachable from elsewhere',
    async (bind, address) => {
      serve = await startServe(makeTempDir({ 'fleet.yaml': FLEET }), ['--bind', bind]);
      const { port } = serve;
      const get = (host: string) => rawRequest(port, ['GET / HTTP/1.1', `Host: ${host}`, 'Connection: close'], address);
      expect(await get(`evil.example:${port}`)).toMatch(/^HTTP\/1\.1 403/);
      expect(await get(`localhost:${port}`)).toMatch(/^HTTP\/1\.1 200/);
      expect(serve.output() + serve.errors()).not.toContain('not only loopback');
    },
  );
});
