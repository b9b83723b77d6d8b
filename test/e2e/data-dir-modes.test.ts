// CORE-003, who may read the data directory: what nixfleet creates there is its owner's alone,
// whatever the umask. The journal and the output logs hold commands' output, which the dashboard
// shows only with its token; made 0755 and 0644 from the usual umask, every user of the machine
// could read them. A directory the user made keeps the mode they gave it.
import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { BIN, makeTempDir, runCli } from '../support/cli.js';
import { freshDatabaseUrl } from '../support/postgres.js';

/** The CLI started under `umask 000`, the loosest there is, as a shell would start it. */
async function underUmask000(cwd: string, args: readonly string[], env: Record<string, string> = {}) {
  const result = await execa('sh', ['-c', 'umask 000; exec node "$0" "$@"', BIN, ...args], {
    cwd,
    reject: false,
    env: { CI: 'true', NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { exitCode: result.exitCode, stderr: String(result.stderr) };
}

const mode = (path: string) => (statSync(path).mode & 0o777).toString(8);

/**
 * The op lists the journal's files while `apply` holds the journal open: the `-wal` and `-shm`
 * exist only then (SQLite removes them when the last connection closes).
 */
function fleetFor(data: string, armed = false): string {
  return `version: 1
hosts:
  h1: { vars: { data: ${JSON.stringify(data)} } }
ops:
  list-journal:
    run: 'cd "$DATA" && stat -c "%a %n" nixfleet.db nixfleet.db-wal nixfleet.db-shm'
    env: { DATA: '{{ host.vars.data }}' }
${armed ? "    rollback: { run: 'true', armed: 30s }\n" : ''}`;
}

it('under umask 000, the data directory and the parents nixfleet makes are 0700, the journal and logs 0600', async () => {
  const dir = makeTempDir();
  const data = join(dir, 'made/by/nixfleet');
  mkdirSync(join(dir, 'home'), { mode: 0o700 });
  writeFileSync(join(dir, 'fleet.yaml'), fleetFor(data, true));
  const apply = await underUmask000(dir, ['--data-dir', data, 'apply', 'list-journal'], { HOME: join(dir, 'home') });
  expect(apply.exitCode, apply.stderr).toBe(0);

  for (const made of ['made', 'made/by', 'made/by/nixfleet', 'made/by/nixfleet/logs']) {
    expect(mode(join(dir, made)), made).toBe('700');
  }
  expect(mode(join(data, 'nixfleet.db'))).toBe('600');
  expect(readdirSync(join(data, 'logs')).map((file) => `${file} ${mode(join(data, 'logs', file))}`)).toEqual([
    'c1.log 600',
  ]);
  // Seen by the op while nixfleet had the journal open: its -wal and -shm too.
  const logs = await runCli(dir, ['--data-dir', data, 'logs', 'r1']);
  expect(logs.exitCode, logs.stderr).toBe(0);
  expect(logs.stdout).toBe(
    '==> c1 [h1] list-journal SUCCESS <==\n600 nixfleet.db\n600 nixfleet.db-wal\n600 nixfleet.db-shm',
  );
  // CORE-009: the armed timer's directories under HOME, made by its script under `umask 077`.
  expect(mode(join(dir, 'home/.nixfleet'))).toBe('700');
  expect(mode(join(dir, 'home/.nixfleet/armed'))).toBe('700');
});

it('a data directory the user made keeps its mode; what nixfleet makes in it is still owner only', async () => {
  const dir = makeTempDir();
  const data = join(dir, 'shared');
  mkdirSync(data);
  chmodSync(data, 0o775);
  writeFileSync(join(dir, 'fleet.yaml'), fleetFor(data));
  const apply = await underUmask000(dir, ['--data-dir', data, 'apply', 'list-journal']);
  expect(apply.exitCode, apply.stderr).toBe(0);
  expect(mode(data)).toBe('775');
  expect(mode(join(data, 'logs'))).toBe('700');
  expect(mode(join(data, 'nixfleet.db'))).toBe('600');
  expect(mode(join(data, 'logs/c1.log'))).toBe('600');
});

it('with a PostgreSQL journal, the local data directory nixfleet makes is 0700 too', async () => {
  const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  h1: {}\nops:\n  hello: { run: echo hello }\n' });
  const data = join(dir, 'local/data');
  const apply = await underUmask000(dir, ['--data-dir', data, '--store', freshDatabaseUrl(), 'apply', 'hello']);
  expect(apply.exitCode, apply.stderr).toBe(0);
  expect(mode(join(dir, 'local'))).toBe('700');
  expect(mode(data)).toBe('700');
});
