// POST /api/runs/:id/retry (see CORE-004): the dashboard's Retry with the rules and host locks of
// `nixfleet retry`, against the real `nixfleet serve` and runs journaled by the real CLI.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';

let serve: ServeProcess | undefined;
afterEach(async () => {
  await serve?.stop('SIGKILL');
  serve = undefined;
});

const fleet = (dir: string, retryable: boolean) => `version: 1
hosts: { web1: {}, web2: {} }
ops:
  deploy:
    run: 'if [ "$NIXFLEET_HOST" = web2 ] && [ ! -e ${dir}/fixed ]; then exit 3; fi; true'
    retryable: ${retryable}
  hold:
    run: for i in $(seq 1 1200); do [ -e ${dir}/release ] && break; sleep 0.1; done
pipelines:
  ship: { ops: [deploy] }
  both: { ops: [hold] }
`;

async function post(path: string, token?: string) {
  const response = await fetch(new URL(path, serve!.baseUrl), {
    method: 'POST',
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('POST /api/runs/:id/retry', { timeout: 120_000 }, () => {
  it('needs the token, knows its runs, refuses non-retryable ops, and reruns what did not complete', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir, false));
    expect((await runCli(dir, ['apply', 'ship'])).exitCode).toBe(1);
    serve = await startServe(dir);
    const { token } = serve;

    expect((await post('/api/runs/r1/retry')).status).toBe(401);
    expect((await post('/api/runs/r9/retry', token)).status).toBe(404);
    const refused = await post('/api/runs/r1/retry', token);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('op(s) not marked retryable would run again: deploy');
    expect(refused.body.hint).toContain('nixfleet retry r1 --force');

    // The fleet file is live-reloaded: once the op is retryable, the same request runs.
    writeFileSync(join(dir, 'fixed'), '');
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir, true));
    let started = refused;
    for (let i = 0; i < 300 && started.status !== 202; i++) {
      await new Promise((r) => setTimeout(r, 100));
      started = await post('/api/runs/r1/retry', token);
    }
    expect(started).toEqual({ status: 202, body: { runId: 'r2', retryOf: 'r1' } });
    const show = async () => JSON.parse((await runCli(dir, ['show', 'r2', '--json'])).stdout);
    let r2 = await show();
    for (let i = 0; i < 300 && r2.run.status === 'RUNNING'; i++) {
      await new Promise((r) => setTimeout(r, 100));
      r2 = await show();
    }
    expect(r2.run).toMatchObject({ status: 'COMPLETE', hosts: ['web2'] });

    const nothing = await post('/api/runs/r2/retry', token);
    expect(nothing.status).toBe(409);
    expect(nothing.body.error).toBe('run r2 completed on every host; nothing to retry');
  });

  it('takes the host locks like any run: a busy host is 409 and nothing starts', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir, true));
    expect((await runCli(dir, ['apply', 'ship'])).exitCode).toBe(1);
    writeFileSync(join(dir, 'fixed'), '');
    const holder = spawnCli(dir, ['apply', 'both']);
    serve = await startServe(dir);
    // Wait until the other run holds both hosts.
    const running = async () =>
      JSON.parse((await runCli(dir, ['runs', '--json'])).stdout) as { id: string; status: string }[];
    for (let i = 0; i < 300 && !(await running()).some((r) => r.id === 'r2' && r.status === 'RUNNING'); i++) {
      await new Promise((r) => setTimeout(r, 100));
    }
    const busy = await post('/api/runs/r1/retry', serve.token);
    expect(busy.status).toBe(409);
    expect((await running()).map((r) => r.id)).toEqual(['r2', 'r1']);
    expect(String(busy.body.error)).toContain('web2');
    writeFileSync(join(dir, 'release'), '');
    expect((await holder).exitCode).toBe(0);
  });
});
