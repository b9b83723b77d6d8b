// A run is retried once (CORE-002, retry), also when two retries of it start at once: both pass
// the check made before their secrets are read, and the journal refuses the second where it
// creates its run. The secret here is read by a command that waits for a file named after the
// retry, so the test decides which one creates its run first.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { waitFor } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { freshDatabaseUrl } from '../support/postgres.js';

const FLEET = `version: 1
secrets:
  token: { command: 'touch "reading-$WHO"; while [ ! -e "go-$WHO" ]; do sleep 0.05; done; echo opensesame' }
hosts: { h1: {}, h2: {} }
ops:
  deploy:
    run: echo "$NIXFLEET_HOST $WHO" >> ran.txt; test "$NIXFLEET_HOST" != h2 || test -f fixed
    env: { TOKEN: "{{ secret.token }}" }
    retryable: true
pipelines:
  p: { ops: [deploy] }
`;

// Several CLI runs per test on a shared two-core machine: generous, still bounded.
vi.setConfig({ testTimeout: 240_000 });

const engines: [string, () => Record<string, string>][] = [
  ['SQLite', () => ({})],
  ['PostgreSQL', () => ({ NIXFLEET_DATABASE_URL: freshDatabaseUrl() })],
];

describe.each(engines)('two retries of one run at once, on %s', (_name, storeEnv) => {
  it('the first runs; the second is refused before anything runs, exit 2, and says which retry came first', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET, 'go-first': '' });
    const env = storeEnv();
    const first = await runCli(dir, ['apply', 'p'], { env: { ...env, WHO: 'first' } });
    expect(first.exitCode, first.stderr).toBe(1);
    writeFileSync(join(dir, 'fixed'), '');
    writeFileSync(join(dir, 'ran.txt'), '');

    // Both start, and both are reading the secret, past the check `retry` makes first.
    const a = spawnCli(dir, ['retry', 'r1'], { env: { ...env, WHO: 'a' }, timeoutMs: 120_000 });
    const b = spawnCli(dir, ['retry', 'r1', '--json'], { env: { ...env, WHO: 'b' }, timeoutMs: 120_000 });
    await waitFor(
      () => existsSync(join(dir, 'reading-a')) && existsSync(join(dir, 'reading-b')),
      'both retries reading their secret',
      60_000,
    );
    writeFileSync(join(dir, 'go-a'), '');
    const retried = await a;
    expect(retried.exitCode, String(retried.stderr)).toBe(0);
    writeFileSync(join(dir, 'go-b'), '');
    const refused = await b;

    expect(refused.exitCode, String(refused.stderr)).toBe(2);
    expect(String(refused.stderr)).toContain('run r1 was already retried by r2 (COMPLETE)');
    expect(String(refused.stderr)).toContain('retry r2 instead, the newest attempt');
    expect(JSON.parse(String(refused.stdout))).toMatchObject({
      error: { message: 'run r1 was already retried by r2 (COMPLETE)', exitCode: 2 },
    });
    // h2 ran once more, by the first retry; the second started nothing and journaled nothing.
    expect(readFileSync(join(dir, 'ran.txt'), 'utf8')).toBe('h2 a\n');
    const runs = JSON.parse((await runCli(dir, ['runs', '--json'], { env })).stdout) as { id: string }[];
    expect(runs.map((run) => run.id)).toEqual(['r2', 'r1']);
  });
});
