// CORE-012 end to end: the real CLI as controllers on separate machines would run it, each with its
// own data directory, all on one PostgreSQL ($NIXFLEET_DATABASE_URL). Two applies never run a
// command on one host at once, `serve` from a third data directory shows both runs live, and a
// controller killed with SIGKILL is orphaned once its lease expires and finished by `retry`; one
// paused past its lease and taken over stops what it still runs as soon as it wakes.
import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { PG_MIGRATIONS, PG_SCHEMA_VERSION } from '../../src/store/postgres/pg-schema.js';
import { waitForFile } from '../engine/support/wait-for.js';
import { BIN, makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { freshDatabaseUrl, holdTables, holdWriteLock, psql, takeDatabaseDown } from '../support/postgres.js';
import { PASSWORD_ROLE, ROLE_PASSWORD } from '../support/postgres-server.js';
import { isRunning } from '../support/processes.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';
import { SyncProbe } from '../sync/support/sync-probe.js';

vi.setConfig({ testTimeout: 180_000 });

// The op waits (at most two minutes) for the gate file, and logs when it starts and ends on a host.
function fleet(dir: string): string {
  const gate = join(dir, 'gate');
  const log = join(dir, 'commands.log');
  return `version: 1
hosts:
  web1: { tags: [web] }
  web2: { tags: [web] }
ops:
  gated:
    run: echo "start $NIXFLEET_HOST" >> ${log}; i=0; while [ ! -e ${gate} ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done; echo "end $NIXFLEET_HOST" >> ${log}; echo "done on $NIXFLEET_HOST"
    timeout: 5m
    retryable: true
`;
}

let serve: ServeProcess | undefined;
const probes: SyncProbe[] = [];
beforeAll(() => {
  // Nothing to build here: bin/nixfleet.js imports dist/, which `npm test` builds first.
  expect(existsSync(join(import.meta.dirname, '../../dist/store/postgres/pg-worker-entry.js'))).toBe(true);
});
afterEach(async () => {
  for (const probe of probes.splice(0)) probe.close();
  if (serve) await serve.stop('SIGKILL');
  serve = undefined;
});

type Run = { id: string; status: string; hosts: string[]; owner: { pid: number }; retryOf: string | null };

async function runsVia(dir: string, env: Record<string, string>, dataDir: string): Promise<Run[]> {
  const result = await runCli(dir, ['--data-dir', dataDir, 'runs', '--json'], { env });
  expect(result.exitCode, result.stderr).toBe(0);
  return JSON.parse(result.stdout) as Run[];
}

async function until<T>(what: string, probe: () => Promise<T | undefined>): Promise<T> {
  for (let i = 0; i < 600; i++) {
    const found = await probe();
    if (found !== undefined) return found;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('controllers with their own data directories on one PostgreSQL', () => {
  it('never run a command on one host at once, and serve from a third directory shows both runs live', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    const env = { NIXFLEET_DATABASE_URL: freshDatabaseUrl() };
    serve = await startServe(dir, ['--data-dir', 'serve-data'], env);
    const probe = await SyncProbe.connect(serve.baseUrl, { token: serve.token, followProtocol: true });
    probes.push(probe);
    await probe.waitFor(() => probe.model.version !== null, 30_000, 'init');
    const runs = () => (probe.model.state?.pipelines ?? []) as Run[];

    const first = spawnCli(dir, ['--data-dir', 'a-data', 'apply', 'gated', '--on', 'web1'], {
      env,
      timeoutMs: 170_000,
    });
    await probe.waitFor(() => runs().some((r) => r.status === 'RUNNING'), 60_000, 'the first run');
    const web1Run = runs().find((r) => r.status === 'RUNNING')!;

    // Another controller, another data directory: web1 is busy (exit 3), web2 is free.
    const blocked = await runCli(dir, ['--data-dir', 'b-data', 'apply', 'gated', '--on', 'web1'], { env });
    expect(blocked.exitCode, blocked.stderr).toBe(3);
    expect(blocked.stderr).toContain('web1');
    const second = spawnCli(dir, ['--data-dir', 'b-data', 'apply', 'gated', '--on', 'web2'], {
      env,
      timeoutMs: 170_000,
    });
    await probe.waitFor(() => runs().filter((r) => r.status === 'RUNNING').length === 2, 60_000, 'both runs live');
    const live = runs().filter((r) => r.status === 'RUNNING');
    expect(new Set(live.map((r) => r.owner.pid))).toEqual(new Set([first.pid, second.pid]));
    expect(live.map((r) => r.hosts[0]).sort()).toEqual(['web1', 'web2']);

    appendFileSync(join(dir, 'gate'), '');
    expect((await first).exitCode).toBe(0);
    expect((await second).exitCode).toBe(0);
    await probe.waitFor(() => runs().filter((r) => r.status === 'COMPLETE').length === 2, 60_000, 'both COMPLETE');
    // The blocked apply never started a command: web1 ran exactly once.
    const log = readFileSync(join(dir, 'commands.log'), 'utf8').trim().split('\n').sort();
    expect(log).toEqual(['end web1', 'end web2', 'start web1', 'start web2']);
    // Output lives in the database: any data directory reads it, and so does the dashboard.
    const logs = await runCli(dir, ['--data-dir', 'elsewhere', '--json', 'logs', web1Run.id], { env });
    const [entry] = JSON.parse(logs.stdout) as { commandId: string; output: string }[];
    expect(entry!.output).toBe('done on web1\n');
    const output = await fetch(new URL(`api/commands/${entry!.commandId}/output?tail=8`, serve.baseUrl), {
      headers: { Authorization: `Bearer ${serve.token}` },
    });
    expect(output.status).toBe(200);
    expect(await output.text()).toBe('on web1\n');
    // Retention from any machine prunes the runs and their output in the database.
    const pruned = await runCli(dir, ['--data-dir', 'elsewhere', '--json', 'prune', '--older-than', '0'], { env });
    expect(JSON.parse(pruned.stdout)).toMatchObject({ pipelines: 2, commands: 2, outputFiles: 2 });
    // It names where it pruned: the database, not the local data directory.
    const said = await runCli(dir, ['--data-dir', 'elsewhere', 'prune', '--older-than', '0'], { env });
    expect(said.stdout).toMatch(/^pruned 0 run\(s\), .* from postgres:\/\//);
    expect((await runCli(dir, ['--data-dir', 'elsewhere', 'logs', web1Run.id], { env })).exitCode).toBe(2);
  });

  it('serve notices a killed controller by itself: its run turns ORPHANED live once the lease expires', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    const env = { NIXFLEET_DATABASE_URL: freshDatabaseUrl(), NIXFLEET_LEASE_SECONDS: '2' };
    serve = await startServe(dir, ['--data-dir', 'serve-data'], env);
    const probe = await SyncProbe.connect(serve.baseUrl, { token: serve.token, followProtocol: true });
    probes.push(probe);
    await probe.waitFor(() => probe.model.version !== null, 30_000, 'init');
    const runs = () => (probe.model.state?.pipelines ?? []) as Run[];
    const doomed = spawnCli(dir, ['--data-dir', 'doomed-data', 'apply', 'gated', '--on', 'web2'], { env });
    await probe.waitFor(() => runs().some((r) => r.status === 'RUNNING'), 60_000, 'the run');
    doomed.kill('SIGKILL');
    await doomed;
    await probe.waitFor(() => runs().some((r) => r.status === 'ORPHANED'), 60_000, 'ORPHANED');
    appendFileSync(join(dir, 'gate'), '');
  });

  it('a controller killed with SIGKILL is orphaned once its lease expires; retry elsewhere finishes the run', async () => {
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    const env = { NIXFLEET_DATABASE_URL: freshDatabaseUrl(), NIXFLEET_LEASE_SECONDS: '2' };
    const doomed = spawnCli(dir, ['--data-dir', 'doomed-data', 'apply', 'gated', '--on', 'web1'], { env });
    const running = await until('the run', async () =>
      (await runsVia(dir, env, 'other-data')).find((r) => r.status === 'RUNNING'),
    );
    expect(running.owner.pid).toBe(doomed.pid);
    doomed.kill('SIGKILL');
    await doomed;

    // Every `runs` opens the journal and recovers: the run turns ORPHANED once the lease is gone.
    await until('ORPHANED', async () =>
      (await runsVia(dir, env, 'other-data')).find((r) => r.id === running.id && r.status === 'ORPHANED'),
    );
    appendFileSync(join(dir, 'gate'), '');
    const retried = await runCli(dir, ['--data-dir', 'other-data', 'retry', running.id], { env });
    expect(retried.exitCode, retried.stderr).toBe(0);
    const after = await runsVia(dir, env, 'third-data');
    expect(after.find((r) => r.retryOf === running.id)).toMatchObject({ status: 'COMPLETE' });
  });

  it('a controller paused past its lease and taken over elsewhere kills its command on waking and starts nothing more', async () => {
    const dir = makeTempDir();
    const pidFile = join(dir, 'command.pid');
    const after = join(dir, 'after-ran');
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web1: {} }
ops:
  hold: { run: 'echo $$ > ${pidFile}; exec sleep 120' }
  after: { run: 'touch ${after}' }
pipelines:
  ship: { ops: [hold, after] }
`,
    );
    const env = { NIXFLEET_DATABASE_URL: freshDatabaseUrl(), NIXFLEET_LEASE_SECONDS: '2' };
    const paused = spawnCli(dir, ['--data-dir', 'paused-data', 'apply', 'ship'], { env, timeoutMs: 150_000 });
    const command = await until('the command', async () =>
      existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== ''
        ? Number(readFileSync(pidFile, 'utf8'))
        : undefined,
    );
    // Asleep, as a laptop with its lid shut: its lease lapses. A controller on another machine (a
    // host name of its own in a user and UTS namespace, so it cannot see or kill the command's
    // processes here) takes the run for gone and marks it ORPHANED; the command itself runs on.
    process.kill(paused.pid as number, 'SIGSTOP');
    const elsewhere = [
      '--user',
      '--map-root-user',
      '--uts',
      'sh',
      '-c',
      'hostname elsewhere && exec "$0" "$@"',
      process.execPath,
      BIN,
    ];
    await until('ORPHANED', async () => {
      const result = await execa('unshare', [...elsewhere, '--data-dir', 'other-data', 'runs', '--json'], {
        cwd: dir,
        env,
        reject: false,
      });
      expect(result.exitCode, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as Run[]).find((r) => r.status === 'ORPHANED');
    });
    expect(isRunning(command)).toBe(true);

    // On waking it sees that, kills what it still runs, and starts nothing more.
    process.kill(paused.pid as number, 'SIGCONT');
    const woke = await paused;
    expect(woke.exitCode, String(woke.stderr)).toBe(1);
    expect(String(woke.stderr)).toContain('run r1 was marked ORPHANED by another nixfleet while this one still ran it');
    await until('the command to end', async () => (isRunning(command) ? undefined : true));
    expect(existsSync(after)).toBe(false);
  });
});

describe('the PostgreSQL journal lost mid-run', () => {
  it('a dropped connection stops the run at once: its command is killed, not left to finish', async () => {
    const url = freshDatabaseUrl();
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { web1: {} }
ops:
  long:
    run: touch started; sleep 60; touch finished
`,
    });
    const apply = spawnCli(dir, ['apply', 'long'], { env: { NIXFLEET_DATABASE_URL: url }, timeoutMs: 120_000 });
    await waitForFile(join(dir, 'started'));
    // The server drops every connection of the journal and lets none in, as while it restarts.
    const down = takeDatabaseDown(url);
    const result = await apply.finally(() => down.end());
    // The run started, so not exit 2 (nothing ran) but 1, as when a SQLite journal fails mid-run.
    expect(result.exitCode, String(result.stderr)).toBe(1);
    expect(String(result.stderr)).toContain('run r1 stopped and its running commands were killed');
    expect(String(result.stderr)).toContain('`nixfleet retry RUN` runs the rest');
    expect(String(result.stderr)).toContain('lost the connection to the PostgreSQL journal');
    // Stopped by the cancel poll within a second, not found out at the command's end a minute later.
    expect(existsSync(join(dir, 'finished'))).toBe(false);
  });

  it('serve waits for a server that went away: pages are told to come back, and get the state once it is', async () => {
    const url = freshDatabaseUrl();
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    const env = { NIXFLEET_DATABASE_URL: url };
    serve = await startServe(dir, ['--data-dir', 'serve-data'], env);
    const before = await SyncProbe.connect(serve.baseUrl, { token: serve.token, followProtocol: true });
    probes.push(before);
    await before.waitFor(() => before.model.version !== null, 30_000, 'init');
    const closed = new Promise<number>((resolve) => before.socket.once('close', (code: number) => resolve(code)));

    const down = takeDatabaseDown(url);
    try {
      // Told to come back later (1013), not dropped as by a server that exits.
      expect(await closed).toBe(1013);
      await until('the lost line', async () => (serve!.output().includes('"journal_lost"') ? true : undefined));
      // Meanwhile the socket and the API say the service is unavailable, without an internal error.
      await expect(SyncProbe.connect(serve.baseUrl, { token: serve.token })).rejects.toThrow('HTTP 503');
      const state = await fetch(new URL('api/state', serve.baseUrl), {
        headers: { Authorization: `Bearer ${serve.token}` },
      });
      expect(state.status).toBe(503);
    } finally {
      down.end();
    }
    await until('the back line', async () => (serve!.output().includes('"journal_back"') ? true : undefined));
    const after = await SyncProbe.connect(serve.baseUrl, { token: serve.token, followProtocol: true });
    probes.push(after);
    await after.waitFor(() => after.model.version !== null, 30_000, 'init after the outage');
    // And live again: a run from another controller shows up and completes.
    appendFileSync(join(dir, 'gate'), '');
    const applied = await runCli(dir, ['--data-dir', 'other-data', 'apply', 'gated', '--on', 'web1'], { env });
    expect(applied.exitCode, applied.stderr).toBe(0);
    const runs = () => (after.model.state?.pipelines ?? []) as Run[];
    await after.waitFor(() => runs().some((r) => r.status === 'COMPLETE'), 60_000, 'the run COMPLETE');
    expect(serve.errors()).not.toMatch(/internal error|\n\s+at /);
  });

  it('serve records a run that lost its journal ORPHANED once the journal is back: its host is free again', async () => {
    const url = freshDatabaseUrl();
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    const env = { NIXFLEET_DATABASE_URL: url };
    serve = await startServe(dir, ['--data-dir', 'serve-data'], env);
    const applied = await fetch(new URL('api/apply', serve.baseUrl), {
      method: 'POST',
      headers: { Authorization: `Bearer ${serve.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ target: 'gated', on: 'web1' }),
    });
    expect(applied.status).toBe(202);
    await until('the command', async () =>
      readFileSync(join(dir, 'commands.log'), { flag: 'a+', encoding: 'utf8' }).includes('start web1')
        ? true
        : undefined,
    );
    const down = takeDatabaseDown(url);
    try {
      await until('the run to stop', async () =>
        serve!.errors().includes('run r1 failed inside nixfleet') ? true : undefined,
      );
    } finally {
      down.end();
    }
    // serve lives on and keeps its lease: no other process would ever take its run for a dead
    // owner's. Before, r1 stayed RUNNING and web1 busy for as long as serve ran.
    const orphaned = await until('r1 ORPHANED', async () =>
      (await runsVia(dir, env, 'other-data')).find((r) => r.id === 'r1' && r.status === 'ORPHANED'),
    );
    expect(orphaned.owner.pid).toBe(serve.child.pid);
    const show = JSON.parse((await runCli(dir, ['--data-dir', 'other-data', 'show', 'r1', '--json'], { env })).stdout);
    expect(show.commands[0]).toMatchObject({
      status: 'ORPHANED',
      error: 'orphaned: the journal was lost while it ran, and nixfleet killed it',
    });
    appendFileSync(join(dir, 'gate'), '');
    const again = await runCli(dir, ['--data-dir', 'other-data', 'apply', 'gated', '--on', 'web1'], { env });
    expect(again.exitCode, again.stderr).toBe(0);
    expect(serve.errors()).not.toMatch(/internal error|\n\s+at /);
  });

  it('a restart that is over before the next call goes unnoticed: the run connects again and completes', async () => {
    const url = freshDatabaseUrl();
    const dir = makeTempDir();
    writeFileSync(join(dir, 'fleet.yaml'), fleet(dir));
    const apply = spawnCli(dir, ['apply', 'gated', '--on', 'web1'], { env: { NIXFLEET_DATABASE_URL: url } });
    await until('the command', async () =>
      readFileSync(join(dir, 'commands.log'), { flag: 'a+', encoding: 'utf8' }).includes('start web1')
        ? true
        : undefined,
    );
    psql(
      url,
      'SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
    );
    appendFileSync(join(dir, 'gate'), '');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain('COMPLETE');
  });
});

describe('the local data directory with the PostgreSQL journal', () => {
  it('readers make none; one that cannot be made is one line and exit 2', async () => {
    const env = { NIXFLEET_DATABASE_URL: freshDatabaseUrl() };
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\nhosts: { web1: {} }\nops:\n  hi:\n    run: echo hi\n',
      afile: '',
    });
    for (const args of [['runs'], ['runs', '--json']]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, result.stderr).toBe(0);
    }
    expect(existsSync(join(dir, '.nixfleet'))).toBe(false);
    for (const dataDir of ['afile/x', '/proc/nixfleet-nope']) {
      const result = await runCli(dir, ['apply', 'hi', '--data-dir', dataDir], { env, timeoutMs: 30_000 });
      expect(result.exitCode, result.stderr).toBe(2);
      expect(result.stderr, dataDir).not.toMatch(/internal error|\n\s+at /);
      expect(result.stderr.trimEnd().split('\n'), dataDir).toHaveLength(2);
    }
  });
});

describe('prune and serve on PostgreSQL', () => {
  it('names the database, password hidden, in its JSON as in its text', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hi\n' });
    // The test server trusts every login: the password only has to stay hidden.
    const url = new URL(freshDatabaseUrl());
    url.password = 's3cr3t';
    const env = { NIXFLEET_DATABASE_URL: url.toString() };
    const shown = url.toString().replace(':s3cr3t@', ':***@');
    expect((await runCli(dir, ['apply', 'hello'], { env })).exitCode).toBe(0);
    const json = await runCli(dir, ['--json', 'prune', '--older-than', '0'], { env });
    expect(json.exitCode, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toEqual({
      store: shown,
      pipelines: 1,
      commands: 1,
      outputFiles: 1,
      events: expect.any(Number),
      changes: expect.any(Number),
    });
    const text = await runCli(dir, ['prune'], { env });
    expect(text.exitCode, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/^pruned 0 run\(s\), /);
    expect(text.stdout.endsWith(` from ${shown}`), text.stdout).toBe(true);
    for (const result of [json, text]) expect(result.stdout).not.toContain('s3cr3t');
  });

  it("serve's --json listening line names the database, password hidden, beside its data directory", async () => {
    const dir = makeTempDir();
    const url = new URL(freshDatabaseUrl());
    url.password = 's3cr3t';
    serve = await startServe(dir, ['--data-dir', 'serve-data'], { NIXFLEET_DATABASE_URL: url.toString() });
    const line = serve
      .output()
      .split('\n')
      .find((l) => l.includes('"listening"'));
    expect(JSON.parse(line ?? '{}')).toMatchObject({
      type: 'listening',
      dataDir: join(dir, 'serve-data'),
      store: url.toString().replace(':s3cr3t@', ':***@'),
    });
    expect(serve.output()).not.toContain('s3cr3t');
  });
});

describe('choosing the store', () => {
  it('a store that is not a PostgreSQL URL, or a server that is not there, is exit 2 with one line and a hint', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nsettings:\n  store: mysql://db/fleet\nhosts:\n  web1: {}\n' });
    const flag = await runCli(dir, ['--store', 'sqlite:///tmp/x', 'runs']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain('--store: `sqlite:///tmp/x` is not a PostgreSQL URL');
    const fromEnv = await runCli(dir, ['runs'], { env: { NIXFLEET_DATABASE_URL: 'db.internal' } });
    expect(fromEnv.exitCode).toBe(2);
    expect(fromEnv.stderr).toContain('$NIXFLEET_DATABASE_URL: `db.internal` is not a PostgreSQL URL');
    const fromFile = await runCli(dir, ['runs']);
    expect(fromFile.exitCode).toBe(2);
    expect(fromFile.stderr).toMatch(/settings\.store in .*fleet\.yaml: `mysql:\/\/db\/fleet` is not a PostgreSQL URL/);
    const validate = await runCli(dir, ['validate']);
    expect(validate.exitCode).toBe(2);
    expect(validate.stderr).toContain('`mysql://db/fleet` is not a PostgreSQL URL');
    // A `#` left unencoded in the password: no URL at all. Said where it came from, with the fix;
    // it was the driver's "Invalid URL" with a hint about the server.
    const unreadable = await runCli(dir, ['runs'], {
      env: { NIXFLEET_DATABASE_URL: 'postgres://nixfleet:pa#ss@127.0.0.1:1/fleet' },
    });
    expect(unreadable.exitCode).toBe(2);
    expect(unreadable.stderr.trimEnd().split('\n')).toEqual([
      'nixfleet: $NIXFLEET_DATABASE_URL: `postgres://nixfleet:***@127.0.0.1:1/fleet` cannot be read as a URL',
      '  hint: write `#`, `/`, `?`, `@` and `:` in the user name or password percent-encoded (`#` as %23, `/` as %2F, `?` as %3F, `@` as %40, `:` as %3A)',
    ]);
    // Port 1 on loopback: nothing listens there.
    const down = await runCli(dir, ['--store', 'postgres://nixfleet:secret@127.0.0.1:1/fleet', 'runs']);
    expect(down.exitCode).toBe(2);
    expect(down.stderr).toContain('cannot open the PostgreSQL journal at postgres://nixfleet:***@127.0.0.1:1/fleet');
    // sslmode=require against a server without TLS: the refusal in one line, not pg's multi-line
    // warning about what `require` means to it.
    const tls = new URL(freshDatabaseUrl());
    tls.searchParams.set('sslmode', 'require');
    const noTls = await runCli(dir, ['--store', tls.toString(), 'runs']);
    expect(noTls.exitCode).toBe(2);
    expect(noTls.stderr).toMatch(/^nixfleet: cannot open the PostgreSQL journal at .*sslmode=require: .*SSL/);
    expect(noTls.stderr).not.toContain('WARNING');
    expect(noTls.stderr.trimEnd().split('\n')).toHaveLength(2);
    // A lease that is set but no number of seconds is refused, not silently 30 s.
    for (const lease of ['abc', '0', '0.001', '1e9']) {
      const result = await runCli(dir, ['runs'], {
        env: { NIXFLEET_DATABASE_URL: freshDatabaseUrl(), NIXFLEET_LEASE_SECONDS: lease },
      });
      expect(result.exitCode, lease).toBe(2);
      expect(result.stderr, lease).toContain(`nixfleet: NIXFLEET_LEASE_SECONDS=${lease} is not a number of seconds`);
    }
    // The password may also come as a query parameter, which pg reads the same way.
    const inQuery = await runCli(dir, [
      '--store',
      'postgres://127.0.0.1:1/fleet?user=nixfleet&password=s3cr3t',
      'runs',
    ]);
    expect(inQuery.exitCode).toBe(2);
    expect(inQuery.stderr).toContain('postgres://127.0.0.1:1/fleet?user=nixfleet&password=***');
    expect(inQuery.stderr).not.toContain('s3cr3t');
    expect(down.stderr).not.toContain('secret');
    for (const result of [flag, fromEnv, fromFile, down]) expect(result.stderr).not.toMatch(/^\s+at /m);
  });

  it('a password the server asks for: taken from the password file without a word; none at all said plainly', async () => {
    const url = new URL(freshDatabaseUrl());
    url.username = PASSWORD_ROLE;
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  hi: { run: "true" }\n' });
    const passwordFile = join(dir, 'pgpass');
    writeFileSync(passwordFile, `127.0.0.1:${url.port}:*:${PASSWORD_ROLE}:${ROLE_PASSWORD}\n`, { mode: 0o600 });
    const env = { NIXFLEET_DATABASE_URL: url.toString(), PGPASSFILE: passwordFile };
    const fromFile = await runCli(dir, ['apply', 'hi'], { env });
    expect(fromFile.exitCode, fromFile.stderr).toBe(0);
    // pg printed a DeprecationWarning of several lines about its password file support, every time.
    expect(fromFile.stderr).toBe('');
    const none = await runCli(dir, ['runs'], { env: { ...env, PGPASSFILE: join(dir, 'absent') } });
    expect(none.exitCode).toBe(2);
    expect(none.stderr.split('\n')[0]).toBe(
      `nixfleet: cannot open the PostgreSQL journal at ${url.toString()}: the server asks for a password, and none was given: put it in the URL (percent-encoded), in $PGPASSWORD, or in ~/.pgpass ($PGPASSFILE)`,
    );
  });

  it('a session holding the write lock stops apply after the busy timeout with one line, exit 1, as on SQLite; readers read', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hi\n' });
    const url = freshDatabaseUrl();
    const env = { NIXFLEET_DATABASE_URL: url };
    expect((await runCli(dir, ['apply', 'hello'], { env })).exitCode).toBe(0);
    const lock = await holdWriteLock(url);
    try {
      const result = await runCli(dir, ['apply', 'hello'], { env, timeoutMs: 60_000 });
      expect(result.exitCode, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /^nixfleet: postgres:\/\/.* is locked by another session \(nixfleet waited 5 s for it\)\n {2}hint: run again once that session is done/,
      );
      expect(result.stderr).not.toContain('internal error');
      // Readers show the journal meanwhile, with a warning, as on SQLite (CORE-003, errors): their
      // recovery needs the lock too, and they exited 1.
      for (const args of [['runs'], ['show', 'r1'], ['logs', 'r1']]) {
        const read = await runCli(dir, args, { env, timeoutMs: 60_000 });
        expect(read.exitCode, read.stderr).toBe(0);
        expect(read.stderr).toMatch(
          /^nixfleet: warning: postgres:\/\/.* is locked by another session \(nixfleet waited 5 s for it\); showing the journal read-only$/,
        );
        expect(read.stdout, args[0]).toMatch(args[0] === 'logs' ? /^hi$/m : /\bCOMPLETE\b/);
      }
    } finally {
      await lock.release();
    }
    // Nothing journaled is lost, and the next apply goes through.
    expect((await runCli(dir, ['apply', 'hello'], { env })).exitCode).toBe(0);
    expect(psql(url, 'SELECT count(*) FROM pipelines')).toBe('2');
  });

  it('an upgrade behind a long transaction (a pg_dump) gives up after 15 s with one line, exit 1, and runs once it is over', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hi\n' });
    const url = freshDatabaseUrl();
    // A journal one schema version behind this nixfleet's.
    psql(
      url,
      [
        'CREATE TABLE nixfleet_schema (version INTEGER NOT NULL)',
        ...PG_MIGRATIONS.slice(0, PG_SCHEMA_VERSION - 1),
        `INSERT INTO nixfleet_schema (version) VALUES (${PG_SCHEMA_VERSION - 1})`,
      ].join(';\n'),
    );
    const env = { NIXFLEET_DATABASE_URL: url };
    const dump = await holdTables(url);
    try {
      const result = await runCli(dir, ['apply', 'hello'], { env, timeoutMs: 90_000 });
      expect(result.exitCode, result.stderr).toBe(1);
      expect(result.stderr).toMatch(
        /^nixfleet: upgrading the journal in postgres:\/\/.* waited 15 s for a lock another session holds\n {2}hint: run again once that session is done: a long transaction on its tables \(a pg_dump/,
      );
    } finally {
      await dump.release();
    }
    // Nothing waits behind the one that gave up, and the upgrade is whole or not at all.
    expect(psql(url, 'SELECT version FROM nixfleet_schema')).toBe(String(PG_SCHEMA_VERSION - 1));
    const after = await runCli(dir, ['apply', 'hello'], { env });
    expect(after.exitCode, after.stderr).toBe(0);
    expect(psql(url, 'SELECT version FROM nixfleet_schema')).toBe(String(PG_SCHEMA_VERSION));
  });

  it('a database of another program, or from a newer nixfleet, is exit 2 with one line and what to do, and left as found', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hi\n' });
    const foreign = freshDatabaseUrl();
    psql(foreign, 'CREATE TABLE hosts (name text); CREATE TABLE pipelines (id int)');
    const refused = await runCli(dir, ['runs'], { env: { NIXFLEET_DATABASE_URL: foreign } });
    expect(refused.exitCode, refused.stderr).toBe(2);
    expect(refused.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(/^nixfleet: postgres:\/\/.* already holds tables of another program \(hosts, pipelines\)$/),
      "  hint: give nixfleet's journal a database of its own (CREATE DATABASE nixfleet), or another --store",
    ]);
    expect(psql(foreign, "SELECT to_regclass('nixfleet_schema') IS NULL")).toBe('t');
    const newer = freshDatabaseUrl();
    // apply creates the journal (readers create none, CORE-012).
    expect((await runCli(dir, ['apply', 'hello'], { env: { NIXFLEET_DATABASE_URL: newer } })).exitCode).toBe(0);
    psql(newer, 'UPDATE nixfleet_schema SET version = 999');
    const old = await runCli(dir, ['runs'], { env: { NIXFLEET_DATABASE_URL: newer } });
    expect(old.exitCode, old.stderr).toBe(2);
    expect(old.stderr.trimEnd().split('\n')).toEqual([
      expect.stringMatching(
        /^nixfleet: postgres:\/\/.* has schema version 999, newer than this nixfleet understands \(\d+\)$/,
      ),
      '  hint: upgrade nixfleet, or give another --store',
    ]);
  });

  it('a row that cannot be decoded is one line naming the database and a hint, exit 2, as on SQLite', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1: {}\nops:\n  hello:\n    run: echo hi\n' });
    const url = freshDatabaseUrl();
    const env = { NIXFLEET_DATABASE_URL: url };
    expect((await runCli(dir, ['apply', 'hello'], { env })).exitCode).toBe(0);
    psql(url, "UPDATE pipelines SET hosts = '{bad' WHERE id = 'r1'");
    for (const args of [['runs'], ['show', 'r1']]) {
      const result = await runCli(dir, args, { env });
      expect(result.exitCode, `${args[0]}: ${result.stderr}`).toBe(2);
      expect(result.stderr, args[0]).toMatch(
        /^nixfleet: postgres:\/\/.* is damaged: row r1 of table pipelines has an unreadable hosts\n {2}hint: /,
      );
      expect(result.stderr.trimEnd().split('\n'), args[0]).toHaveLength(2);
    }
  });

  it('a mistyped scheme never prints the password, and settings.store is quoted as a one-line excerpt', async () => {
    // The same URL with a typo in its scheme: the password is *** as when the server refuses it.
    const typo = `postgress://nixfleet:hunter2@db.internal:5432/fleet?password=s3cr3t`;
    const dir = makeTempDir({ 'fleet.yaml': `version: 1\nsettings:\n  store: "mysql://nixfleet:hunter2@db/fleet"\n` });
    const flag = await runCli(dir, ['--store', typo, 'runs']);
    expect(flag.exitCode).toBe(2);
    expect(flag.stderr).toContain('--store: `postgress://nixfleet:***@db.internal:5432/fleet?password=***`');
    const fromEnv = await runCli(dir, ['runs'], { env: { NIXFLEET_DATABASE_URL: 'nixfleet:hunter2@db.internal' } });
    expect(fromEnv.exitCode).toBe(2);
    expect(fromEnv.stderr).toContain('$NIXFLEET_DATABASE_URL: `nixfleet:***@db.internal` is not a PostgreSQL URL');
    const fromFile = await runCli(dir, ['runs']);
    expect(fromFile.exitCode).toBe(2);
    expect(fromFile.stderr).toContain('`mysql://nixfleet:***@db/fleet` is not a PostgreSQL URL');
    const validate = await runCli(dir, ['validate']);
    expect(validate.exitCode).toBe(2);
    expect(validate.stderr).toContain('`mysql://nixfleet:***@db/fleet` is not a PostgreSQL URL');
    for (const result of [flag, fromEnv, fromFile, validate]) {
      expect(result.stderr).not.toMatch(/hunter2|s3cr3t/);
    }
    // A value from the fleet file is an excerpt on one line (CORE-005): no raw newline or escape.
    const hostile = makeTempDir({
      'fleet.yaml': `version: 1\nsettings:\n  store: "mysql://a\\n\\x1b[31mred\\n${'x'.repeat(5000)}"\n`,
    });
    for (const args of [['runs'], ['validate']]) {
      const result = await runCli(hostile, args);
      expect(result.exitCode, args[0]).toBe(2);
      expect(result.stderr, args[0]).toContain('`mysql://a\\n\\x1b[31mred\\nxxx');
      expect(result.stderr, args[0]).not.toContain('\u001b');
      expect(result.stderr.length, args[0]).toBeLessThan(1000);
    }
  });
});
