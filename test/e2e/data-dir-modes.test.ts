// CORE-003, who may read the data directory: the data directory nixfleet makes is its owner's
// alone, whatever the umask, so no other user of the machine reads the journal or the output logs
// (the dashboard shows the same data only with its token). Made 0755 from the usual umask, every
// user could. A directory the user made keeps the mode they gave it, and what nixfleet makes in it
// follows the umask: accounts may share one journal through a group-writable directory.
import { chmodSync, mkdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { BIN, makeTempDir } from '../support/cli.js';
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

/** Whether another user of the machine (`nobody`) can read the file. */
async function nobodyReads(path: string): Promise<boolean> {
  const result = await execa('setpriv', ['--reuid=nobody', '--regid=nogroup', '--clear-groups', 'cat', path], {
    reject: false,
  });
  return result.exitCode === 0;
}

const FLEET = `version: 1
hosts:
  h1: {}
ops:
  hello:
    run: echo hello from h1
    rollback: { run: 'true', armed: 30s }
`;

it('under umask 000, the data directory and the parents nixfleet makes are 0700: no other user reads the journal or a log', async () => {
  const dir = makeTempDir({ 'fleet.yaml': FLEET });
  // Everyone may enter the test's directory, as a project's directory usually is.
  chmodSync(dir, 0o755);
  mkdirSync(join(dir, 'home'), { mode: 0o700 });
  const data = join(dir, 'made/by/nixfleet');
  const apply = await underUmask000(dir, ['--data-dir', data, 'apply', 'hello'], { HOME: join(dir, 'home') });
  expect(apply.exitCode, apply.stderr).toBe(0);

  for (const made of ['made', 'made/by', 'made/by/nixfleet']) expect(mode(join(dir, made)), made).toBe('700');
  // The fleet file beside it is readable to nobody: what stops it below is the data directory.
  expect(await nobodyReads(join(dir, 'fleet.yaml'))).toBe(true);
  expect(await nobodyReads(join(data, 'nixfleet.db'))).toBe(false);
  expect(await nobodyReads(join(data, 'logs/c1.log'))).toBe(false);
  // CORE-009: the armed timer's directories under HOME, made by its script under `umask 077`.
  expect(mode(join(dir, 'home/.nixfleet'))).toBe('700');
  expect(mode(join(dir, 'home/.nixfleet/armed'))).toBe('700');
});

it('a data directory the user made keeps its mode, and what nixfleet makes in it follows the umask', async () => {
  const dir = makeTempDir({ 'fleet.yaml': FLEET.replace(/\n {4}rollback.*\n/, '\n') });
  const data = join(dir, 'shared');
  mkdirSync(data);
  chmodSync(data, 0o775);
  const apply = await underUmask000(dir, ['--data-dir', data, 'apply', 'hello']);
  expect(apply.exitCode, apply.stderr).toBe(0);
  expect(mode(data)).toBe('775');
  expect(mode(join(data, 'logs'))).toBe('777');
  // SQLite creates its files 0644 less the umask.
  expect(mode(join(data, 'nixfleet.db'))).toBe('644');
  expect(mode(join(data, 'logs/c1.log'))).toBe('666');
});

it('with a PostgreSQL journal, the local data directory nixfleet makes is 0700 too', async () => {
  const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  h1: {}\nops:\n  hello: { run: echo hello }\n' });
  const data = join(dir, 'local/data');
  const apply = await underUmask000(dir, ['--data-dir', data, '--store', freshDatabaseUrl(), 'apply', 'hello']);
  expect(apply.exitCode, apply.stderr).toBe(0);
  expect(mode(join(dir, 'local'))).toBe('700');
  expect(mode(data)).toBe('700');
});
