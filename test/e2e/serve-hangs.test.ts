// `nixfleet serve` against what used to freeze it (see CORE-001 spawn failures, CORE-005
// selectors): a selector that made matching backtrack for ever froze the whole server on one
// `POST /api/apply`, and a command that could not be started left the run RUNNING and the
// server deaf to SIGTERM. Every wait here is bounded, so a regression fails instead of hanging.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { openJournal } from '../../src/store/journal.js';
import { waitForPid } from '../engine/support/wait-for.js';
import { makeTempDir } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';
import { SyncProbe } from '../sync/support/sync-probe.js';

vi.setConfig({ testTimeout: 150_000 });

// 25-character ids, and one host whose vars are together over the kernel's limit for a command's
// environment (each is under the limit for one variable, which validate checks).
const ID = 'e'.repeat(23);
const BLOBS = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`blob${i}`, 'x'.repeat(100_000)]));
const FLEET = `version: 1
hosts:
  ${ID}01: {}
  ${ID}02: { vars: ${JSON.stringify(BLOBS)} }
ops:
  hello:
    run: echo hello
`;
const NESTED = '*(*(*(*(*(*(e*)*)*)*)*)*)*x';

let serve: ServeProcess | undefined;
let probe: SyncProbe | undefined;
afterEach(async () => {
  probe?.close();
  probe = undefined;
  if (serve) await serve.stop('SIGKILL');
  serve = undefined;
});

type Run = { id: string; status: string };

describe('serve stays responsive', () => {
  it('refuses a runaway selector at once, ends a run whose command cannot start (PARTIAL), and stops on SIGTERM', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const server = await startServe(dir);
    serve = server;
    const post = (path: string, body: unknown) =>
      fetch(new URL(path, server.baseUrl), {
        method: 'POST',
        headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });

    const refused = await post('api/apply', { target: 'hello', on: NESTED });
    expect(refused.status).toBe(400);
    expect(await refused.json()).toMatchObject({ error: `selector term \`${NESTED}\` cannot contain \`(\`` });

    probe = await SyncProbe.connect(server.baseUrl, { token: server.token, followProtocol: true });
    const watcher = probe;
    await watcher.waitFor(() => watcher.model.version !== null, 30_000, 'init');
    const started = await post('api/apply', { target: 'hello' });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const runOf = () => ((watcher.model.state?.pipelines ?? []) as Run[]).find((run) => run.id === runId);
    await watcher.waitFor(() => runOf()?.status === 'PARTIAL', 60_000, `${runId} PARTIAL`);

    serve = undefined;
    expect(await server.stop('SIGTERM')).toBe(0);
  });

  it('keeps answering while a run waits for a slow secret command, then starts the run', async () => {
    // The secret command waits until the test lets it finish: a vault login, say (CORE-010).
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  token: { command: "touch asked; while [ ! -e answer ]; do sleep 0.05; done; echo s3cret-token-value" }
hosts:
  h1: {}
ops:
  use:
    run: test -n {{ secret.token }}
`,
    });
    const server = await startServe(dir);
    serve = server;
    const headers = { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' };
    const applying = fetch(new URL('api/apply', server.baseUrl), {
      method: 'POST',
      headers,
      body: JSON.stringify({ target: 'use' }),
      signal: AbortSignal.timeout(60_000),
    });
    await vi.waitFor(() => expect(existsSync(join(dir, 'asked'))).toBe(true), { timeout: 30_000, interval: 25 });
    // The secret command is still waiting: the server must answer anyway.
    const state = await fetch(new URL('api/state', server.baseUrl), { headers, signal: AbortSignal.timeout(30_000) });
    expect(state.status).toBe(200);
    expect(existsSync(join(dir, 'answer'))).toBe(false);
    writeFileSync(join(dir, 'answer'), '');
    const started = await applying;
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const statusOf = async (id: string) => {
      const snapshot = (await (await fetch(new URL('api/state', server.baseUrl), { headers })).json()) as {
        state: { pipelines: Run[] };
      };
      return snapshot.state.pipelines.find((r) => r.id === id)?.status;
    };
    await vi.waitFor(async () => expect(await statusOf(runId)).toBe('COMPLETE'), {
      timeout: 60_000,
      interval: 100,
    });
  });

  it('stops on SIGTERM while a run waits for a secret command that never answers: it is killed, the run CANCELLED', async () => {
    // It used to ignore SIGINT and SIGTERM until the 60 s secret timeout (CORE-010).
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  token: { command: "echo $$ > secret.pid; exec sleep 100" }
hosts:
  h1: {}
ops:
  use:
    run: test -n {{ secret.token }}; touch ran
`,
    });
    const server = await startServe(dir);
    serve = server;
    const applying = fetch(new URL('api/apply', server.baseUrl), {
      method: 'POST',
      headers: { Authorization: `Bearer ${server.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'use' }),
      signal: AbortSignal.timeout(60_000),
    }).catch((error: unknown) => error);
    const pid = await waitForPid(join(dir, 'secret.pid'), 30_000);
    serve = undefined;
    // It cancelled the run started here: 130, as for any run it cancels on the way out.
    expect(await server.stop('SIGTERM')).toBe(130);
    await applying;
    expect(liveGroupMembers(pid)).toEqual([]);
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    const journal = openJournal(join(dir, '.nixfleet'));
    try {
      expect(journal.listRuns({}).map((r) => r.status)).toEqual(['CANCELLED']);
    } finally {
      journal.close();
    }
  });
});
