// `nixfleet serve` end to end (see CORE-004): the real CLI in a temp
// directory, real sockets, and runs started by another `nixfleet` process and by the API.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { WebSocket } from 'ws';
import { openJournal } from '../../src/store/journal.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';
import { SyncProbe } from '../sync/support/sync-probe.js';

const FLEET = `version: 1
settings:
  defaultPipeline: deploy
hosts:
  web1: { tags: [web] }
  web2: { tags: [web] }
  db1: { tags: [db] }
ops:
  pull:
    run: echo "pull on $NIXFLEET_HOST"
  switch:
    run: echo "switch on $NIXFLEET_HOST"
  slow:
    run: sleep 2
  sleepy:
    run: sleep 60
pipelines:
  deploy:
    ops: [pull, switch]
  long:
    ops: [slow]
`;

vi.setConfig({ testTimeout: 150_000 });

let serve: ServeProcess | undefined;
const probes: SyncProbe[] = [];
afterEach(async () => {
  for (const probe of probes.splice(0)) probe.close();
  if (serve) await serve.stop('SIGKILL');
  serve = undefined;
});

async function probeOf(server: ServeProcess): Promise<SyncProbe> {
  const probe = await SyncProbe.connect(server.baseUrl, { token: server.token, followProtocol: true });
  probes.push(probe);
  await probe.waitFor(() => probe.model.version !== null, 15_000, 'init');
  return probe;
}

type Run = { id: string; status: string; owner: { pid: number } };
const runsOf = (probe: SyncProbe) => (probe.model.state?.pipelines ?? []) as Run[];

describe('starting and stopping', () => {
  it('prints the URL with a generated token, listens on loopback and stops on SIGTERM', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{40,}$/);
    expect(serve.port).toBeGreaterThan(0);
    const page = await fetch(serve.baseUrl);
    expect(page.status).toBe(200);
    const code = await serve.stop('SIGTERM');
    serve = undefined;
    expect(code).toBe(0);
  });

  it('once stopping, refuses new runs with 503 and awaits the runs it started before closing the journal', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const server = serve;
    const post = (path: string, body?: unknown) =>
      fetch(new URL(path, server.baseUrl), {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const started = await post('api/apply', { target: 'sleepy', on: 'web1' });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const probe = await probeOf(server);
    await probe.waitFor(() => runsOf(probe).some((r) => r.id === runId), 20_000, runId);

    server.child.kill('SIGTERM');
    await vi.waitFor(() => expect(server.output()).toContain('"type":"cancelling"'), { timeout: 20_000 });
    // Draining: the run started here still runs its command; nothing new may start.
    const refused = await post('api/apply', { target: 'deploy', on: 'web2' });
    expect(refused.status).toBe(503);
    expect(await refused.json()).toMatchObject({ error: expect.stringContaining('stopping') });
    const retry = await post(`api/runs/${runId}/retry`);
    expect(retry.status).toBe(503);

    // A second signal kills the running command; serve ends once its run has ended.
    server.child.kill('SIGTERM');
    const result = await server.child;
    serve = undefined;
    expect(result.exitCode).toBe(130);
    expect(String(result.stdout)).toContain('"type":"stopped"');
    const journal = openJournal(join(dir, '.nixfleet'));
    try {
      const runs = journal.listRuns({});
      expect(runs.map((r) => [r.id, r.status])).toEqual([[runId, 'CANCELLED']]);
    } finally {
      journal.close();
    }
  });

  it('takes the token from $NIXFLEET_TOKEN, and --token over it', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir, [], { NIXFLEET_TOKEN: 'from-the-environment-123' });
    expect(serve.token).toBe('from-the-environment-123');
    await serve.stop();
    serve = await startServe(dir, ['--token', 'from-the-flag-0123456789'], {
      NIXFLEET_TOKEN: 'from-the-environment-123',
    });
    expect(serve.token).toBe('from-the-flag-0123456789');
    const refused = await fetch(new URL('api/state', serve.baseUrl), {
      headers: { Authorization: 'Bearer from-the-environment-123' },
    });
    expect(refused.status).toBe(401);
  });

  it('rejects a bad --port, --bind or token as a usage error without a stack trace', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    for (const args of [
      ['serve', '--port', '70000'],
      ['serve', '--bind', 'not an address'],
      ['serve', '--token', 'short'],
    ]) {
      const result = await runCli(dir, args, { timeoutMs: 20_000 });
      expect(result.exitCode, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^nixfleet: /);
      expect(result.stderr).not.toMatch(/\n\s+at /);
    }
  });
});

describe('State Sync through `nixfleet serve`', () => {
  it('an apply in another process reaches the socket as contiguous deltas ending COMPLETE', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const probe = await probeOf(serve);
    const start = probe.model.version!;
    const applied = await runCli(dir, ['apply', 'deploy']);
    expect(applied.exitCode).toBe(0);
    await probe.waitFor(() => runsOf(probe).some((r) => r.status === 'COMPLETE'), 20_000, 'COMPLETE');
    const versions = probe.deltas().map((d) => d.version);
    expect(versions).toEqual(Array.from({ length: versions.length }, (_, i) => start + i + 1));
    expect(probe.stateRequests).toBe(0);
    const finished = probe.deltas().filter((d) => d.change.type === 'command_finished');
    expect(finished).toHaveLength(6);
  });

  it('a run applied through the API runs in the server process; a second one is 409; cancel ends it', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const probe = await probeOf(serve);
    const post = (path: string, body?: unknown) =>
      fetch(new URL(path, serve!.baseUrl), {
        method: 'POST',
        headers: { Authorization: `Bearer ${serve!.token}`, 'Content-Type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const first = await post('api/apply', { target: 'long', on: '@web' });
    expect(first.status).toBe(202);
    const { runId } = (await first.json()) as { runId: string };
    const busy = await post('api/apply', { target: 'long' });
    expect(busy.status).toBe(409);
    expect(await busy.json()).toMatchObject({
      busy: [
        { hostId: 'web1', runId },
        { hostId: 'web2', runId },
      ],
    });
    const unknown = await post('api/apply', { target: 'nope' });
    expect(unknown.status).toBe(400);

    await probe.waitFor(() => runsOf(probe).some((r) => r.id === runId), 20_000, runId);
    expect(runsOf(probe).find((r) => r.id === runId)?.owner.pid).toBe(serve.child.pid);
    const cancel = await post(`api/runs/${runId}/cancel`);
    expect(cancel.status).toBe(202);
    await probe.waitFor(() => runsOf(probe).find((r) => r.id === runId)?.status === 'CANCELLED', 20_000, 'CANCELLED');
    expect((await post('api/runs/r999/cancel')).status).toBe(404);
  });

  it('shows the run of an `apply` killed with SIGKILL in another terminal as ORPHANED, live', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const probe = await probeOf(serve);
    const apply = spawnCli(dir, ['apply', 'sleepy', '--on', 'web1']);
    type Command = { runId: string; status: string };
    const commandsOf = () => (probe.model.state?.commands ?? []) as Command[];
    await probe.waitFor(() => commandsOf().some((c) => c.status === 'EXECUTING'), 30_000, 'the command EXECUTING');
    const runId = commandsOf().find((c) => c.status === 'EXECUTING')!.runId;
    expect(runsOf(probe).find((r) => r.id === runId)?.owner.pid).toBe(apply.pid);

    apply.kill('SIGKILL');
    await apply;
    // Nothing else opens the journal: only serve can notice the dead owner.
    await probe.waitFor(
      () => runsOf(probe).find((r) => r.id === runId)?.status === 'ORPHANED',
      30_000,
      `${runId} ORPHANED`,
    );
    expect(
      commandsOf()
        .filter((c) => c.runId === runId)
        .map((c) => c.status),
    ).toEqual(['ORPHANED']);
    expect(probe.stateRequests).toBe(0);
  });

  it('closes a socket that sends anything but get_state with the code CORE-004 names', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const server = serve;
    const closeAfter = async (send: (ws: WebSocket) => void): Promise<number> => {
      const probe = await probeOf(server);
      const closed = new Promise<number>((resolve) => probe.socket.once('close', (code) => resolve(code)));
      send(probe.socket);
      return closed;
    };
    expect(await closeAfter((ws) => ws.send('{"type":"hello"}'))).toBe(1008);
    expect(await closeAfter((ws) => ws.send(Buffer.from('{"type":"get_state"}'), { binary: true }))).toBe(1008);
    expect(await closeAfter((ws) => ws.send(''))).toBe(1008);
    expect(await closeAfter((ws) => ws.send('{'))).toBe(1007);
    // Over 1,024 bytes: refused unread as too big, whatever it holds.
    expect(await closeAfter((ws) => ws.send(JSON.stringify({ type: 'get_state', pad: 'x'.repeat(2000) })))).toBe(1009);
    expect(await closeAfter((ws) => ws.send('x'.repeat(100_000)))).toBe(1009);
    // get_state split over two frames is one message, and answered.
    const probe = await probeOf(server);
    probe.socket.send('{"type":', { fin: false });
    probe.socket.send('"get_state"}', { fin: true });
    await probe.waitFor(() => probe.messages.some((m) => m.type === 'full_state'), 15_000, 'full_state');
    expect(probe.isOpen).toBe(true);
  });

  it('takes a body on a mutating route only as application/json; a body-less POST needs no Content-Type', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    expect((await runCli(dir, ['apply', 'deploy', '--on', 'web1'])).exitCode).toBe(0);
    serve = await startServe(dir);
    const server = serve;
    const post = (path: string, body?: string | Uint8Array<ArrayBuffer>, type?: string) =>
      fetch(new URL(path, server.baseUrl), {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, ...(type === undefined ? {} : { 'Content-Type': type }) },
        ...(body === undefined ? {} : { body }),
      });
    // fetch labels a string body text/plain; bytes go out with no Content-Type at all.
    const json = (value: unknown) => new Uint8Array(Buffer.from(JSON.stringify(value)));

    const untyped = await post('api/apply', json({ target: 'deploy', on: 'web2' }));
    expect(untyped.status).toBe(415);
    expect(await untyped.json()).toMatchObject({ error: expect.stringContaining('application/json') });
    expect((await post('api/apply', json({ target: 'deploy' }), 'text/plain')).status).toBe(415);
    expect((await post('api/runs/r1/retry', 'retry please', 'text/plain')).status).toBe(415);
    expect((await post('api/runs/r1/retry', json({}))).status).toBe(415);
    expect((await post('api/runs/r1/cancel', json({ kill: true }))).status).toBe(415);
    const forced = await post('api/runs/r1/retry', JSON.stringify({ force: true }), 'application/json');
    expect(forced.status).toBe(400);
    expect(await forced.json()).toMatchObject({ hint: expect.stringContaining('nixfleet retry ID --force') });

    // No body: no Content-Type needed, read as {}. r1 completed, so retry has nothing to do.
    expect((await post('api/runs/r1/retry')).status).toBe(409);
    expect((await post('api/runs/r1/retry', '{}', 'application/json')).status).toBe(409);
    const applied = await post('api/apply');
    expect(applied.status).toBe(202);
    expect(await applied.json()).toEqual({ runId: 'r2' });
  });

  it('after an invalid save, says the last good definitions are kept, and Apply runs them', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const server = serve;
    writeFileSync(join(dir, 'fleet.yaml'), FLEET.replace('    run: echo "pull on $NIXFLEET_HOST"\n', ''));
    await vi.waitFor(() => expect(server.errors()).toContain('error(s) in the fleet file'), { timeout: 20_000 });
    expect(server.errors()).toContain(
      'error(s) in the fleet file; kept v1: Apply runs its definitions until a valid save',
    );
    expect(server.errors()).not.toContain('waits');
    const applied = await fetch(new URL('api/apply', server.baseUrl), {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'deploy', on: 'web1' }),
    });
    expect(applied.status).toBe(202);
  });

  it('saving the fleet file reaches the clients as registry_reloaded', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    serve = await startServe(dir);
    const probe = await probeOf(serve);
    const registry = () => probe.model.state?.registry as unknown as { hosts: { id: string }[] } | null;
    expect(registry()?.hosts.map((h) => h.id)).toEqual(['web1', 'web2', 'db1']);
    const file = join(dir, 'fleet.yaml');
    writeFileSync(
      file,
      readFileSync(file, 'utf8').replace('  db1: { tags: [db] }\n', '  db1: { tags: [db] }\n  db2: {}\n'),
    );
    await probe.waitFor(() => probe.deltas().some((d) => d.change.type === 'registry_reloaded'), 20_000, 'reload');
    expect(registry()?.hosts.map((h) => h.id)).toEqual(['web1', 'web2', 'db1', 'db2']);
    expect(((probe.model.state?.hosts ?? []) as { id: string }[]).map((h) => h.id)).toContain('db2');
  });
});
