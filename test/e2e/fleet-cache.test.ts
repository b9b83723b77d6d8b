// The fleet cache (CORE-005, start-up), through the real CLI: the registry of the last compile is
// kept in the data directory, and a command takes it back only for the same fleet text, build, home
// directory and --data-dir, from any working directory. Whether a start compiled is seen by what it loaded
// (test/support/module-log-hook.mjs): the fleet compiler's file of the bundle, or not.
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { SqliteDriver as Database } from '../../src/store/database.js';
import { makeTempDir, ROOT, runCli } from '../support/cli.js';

const HOOK = pathToFileURL(join(ROOT, 'test/support/module-log-hook.mjs')).href;
const ENTRY = '.nixfleet/fleet-cache.json';

const FLEET = `version: 1
hosts:
  web1: { tags: [web] }
  web2: { tags: [web] }
ops:
  hello:
    run: echo hello {{ host.name }}
pipelines:
  greet: { ops: [hello] }
`;

/** Runs the CLI; `compiled` says whether this start loaded the fleet compiler. */
async function run(cwd: string, args: readonly string[], env: Record<string, string> = {}) {
  const log = join(makeTempDir({}, 'nixfleet-modules-'), 'loaded.txt');
  const result = await runCli(cwd, args, {
    env: { NODE_OPTIONS: `--import ${HOOK}`, NIXFLEET_MODULE_LOG: log, ...env },
  });
  const loaded = existsSync(log) ? readFileSync(log, 'utf8') : '';
  return { ...result, compiled: loaded.includes('/dist/bundle/fleet-compiler.js') };
}

/** A fleet directory whose data directory exists, as after a first apply. */
function fleetDir(fleet = FLEET, files: Record<string, string> = {}): string {
  const dir = makeTempDir({ 'fleet.yaml': fleet, ...files });
  mkdirSync(join(dir, '.nixfleet'));
  return dir;
}

describe('the fleet cache', { timeout: 120_000 }, () => {
  it('keeps the compiled fleet in the data directory, and the next start takes it back', async () => {
    const dir = fleetDir();
    const first = await run(dir, ['validate']);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.compiled).toBe(true);
    expect(statSync(join(dir, ENTRY)).mode & 0o777).toBe(0o600);
    for (const args of [['validate'], ['list'], ['plan', 'greet'], ['list', '--json']]) {
      const again = await run(dir, args);
      const cold = await run(dir, args, { NIXFLEET_NO_FLEET_CACHE: '1' });
      expect(again.compiled, args.join(' ')).toBe(false);
      expect(cold.compiled, args.join(' ')).toBe(true);
      expect(again.exitCode).toBe(0);
      expect(again.stdout).toBe(cold.stdout);
    }
    // apply too, and the run journals the same fleet hash as a compiled start.
    const applied = await run(dir, ['apply', 'greet']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(applied.compiled).toBe(false);
    const compiled = await run(dir, ['apply', 'greet'], { NIXFLEET_NO_FLEET_CACHE: '1' });
    expect(compiled.exitCode, compiled.stderr).toBe(0);
    const db = new Database(join(dir, '.nixfleet/nixfleet.db'), { readonly: true });
    const hashes = db.prepare('SELECT registry_hash FROM pipelines ORDER BY id').pluck().all() as string[];
    db.close();
    expect(hashes).toHaveLength(2);
    expect(hashes[0]).toMatch(/^[0-9a-f]{64}$/);
    expect(hashes[0]).toBe(hashes[1]);
  });

  it('compiles again when the fleet file changed, and reports its errors', async () => {
    const dir = fleetDir();
    expect((await run(dir, ['validate'])).compiled).toBe(true);
    // Same length, same second: only the text tells.
    writeFileSync(join(dir, 'fleet.yaml'), FLEET.replace('web2', 'db22'));
    const list = await run(dir, ['list', 'hosts']);
    expect(list.compiled).toBe(true);
    expect(list.stdout).toMatch(/^db22 /m);
    expect(list.stdout).not.toMatch(/^web2 /m);
    writeFileSync(join(dir, 'fleet.yaml'), FLEET.replace('ops: [hello]', 'ops: [nosuch]'));
    const broken = await run(dir, ['validate']);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/fleet\.yaml:\d+:\d+: .*nosuch/);
    expect((await run(dir, ['validate'])).compiled).toBe(true);
    writeFileSync(join(dir, 'fleet.yaml'), FLEET);
    expect((await run(dir, ['validate'])).compiled).toBe(true);
    expect((await run(dir, ['validate'])).compiled).toBe(false);
  });

  it('compiles again for another home directory or --data-dir, not for another working directory', async () => {
    const fleet = FLEET.replace(
      'web1: { tags: [web] }',
      'web1: { tags: [web], transport: ssh, identityFile: ~/.ssh/k }',
    );
    const dir = fleetDir(fleet);
    mkdirSync(join(dir, 'sub'));
    mkdirSync(join(dir, 'other'));
    const hostsWith = async (cwd: string, args: string[], home: string) => {
      const result = await run(cwd, ['list', 'hosts', '--json', ...args], { HOME: home });
      expect(result.exitCode, result.stderr).toBe(0);
      return { ...result, hosts: JSON.parse(result.stdout) as { id: string; identityFile?: string }[] };
    };
    expect((await hostsWith(dir, [], '/home/a')).compiled).toBe(true);
    expect((await hostsWith(dir, [], '/home/a')).compiled).toBe(false);
    const b = await hostsWith(dir, [], '/home/b');
    expect(b.compiled).toBe(true);
    expect(b.hosts[0]?.identityFile).toBe('/home/b/.ssh/k');
    // The same fleet file, home and data directory from another working directory: a compile there
    // gives the same registry (only its errors' paths start from the working directory), so the
    // entry is taken, and the output is what a compile there prints.
    const sub = join(dir, 'sub');
    const fromSub = await hostsWith(sub, ['-f', '../fleet.yaml'], '/home/b');
    expect(fromSub.compiled).toBe(false);
    expect(fromSub.stdout).toBe(b.stdout);
    for (const args of [
      ['validate', '-f', '../fleet.yaml'],
      ['plan', 'greet', '-f', '../fleet.yaml'],
    ]) {
      const again = await run(sub, args, { HOME: '/home/b' });
      const cold = await run(sub, args, { HOME: '/home/b', NIXFLEET_NO_FLEET_CACHE: '1' });
      expect(again.exitCode, again.stderr).toBe(0);
      expect(again.compiled, args.join(' ')).toBe(false);
      expect(again.stdout).toBe(cold.stdout);
    }
    const elsewhere = await run(dir, ['apply', 'greet', '--on', 'web2', '--data-dir', 'other'], { HOME: '/home/b' });
    expect(elsewhere.exitCode, elsewhere.stderr).toBe(0);
    expect(elsewhere.compiled).toBe(true);
    expect(existsSync(join(dir, 'other/nixfleet.db'))).toBe(true);
    // --data-dir is resolved first: the same directory named from elsewhere finds its entry.
    const otherFromSub = await hostsWith(sub, ['-f', '../fleet.yaml', '--data-dir', '../other'], '/home/b');
    expect(otherFromSub.compiled).toBe(false);
    expect(otherFromSub.stdout).toBe(b.stdout);
  });

  it('with includes, compiles again when an included file changes, appears or goes', async () => {
    const dir = fleetDir(`${FLEET}include: [more/*.yaml]\n`, { 'more/a.yaml': 'hosts:\n  extra-a: {}\n' });
    const hosts = async () => {
      const result = await run(dir, ['list', 'hosts']);
      expect(result.exitCode, result.stderr).toBe(0);
      return {
        compiled: result.compiled,
        ids: result.stdout
          .split('\n')
          .slice(1)
          .map((line) => line.split(' ')[0]),
      };
    };
    expect(await hosts()).toEqual({ compiled: true, ids: ['web1', 'web2', 'extra-a'] });
    expect(await hosts()).toEqual({ compiled: false, ids: ['web1', 'web2', 'extra-a'] });
    writeFileSync(join(dir, 'more/a.yaml'), 'hosts:\n  extra-z: {}\n');
    expect(await hosts()).toEqual({ compiled: true, ids: ['web1', 'web2', 'extra-z'] });
    writeFileSync(join(dir, 'more/b.yaml'), 'hosts:\n  extra-b: {}\n');
    expect(await hosts()).toEqual({ compiled: true, ids: ['web1', 'web2', 'extra-z', 'extra-b'] });
    expect(await hosts()).toEqual({ compiled: false, ids: ['web1', 'web2', 'extra-z', 'extra-b'] });
    rmSync(join(dir, 'more/a.yaml'));
    expect(await hosts()).toEqual({ compiled: true, ids: ['web1', 'web2', 'extra-b'] });
    // A link to the main file under the glob is not read twice, so what the compile reads is the
    // same, and so is the entry.
    symlinkSync('../fleet.yaml', join(dir, 'more/main.yaml'));
    expect(await hosts()).toEqual({ compiled: false, ids: ['web1', 'web2', 'extra-b'] });
    // A file's new text is read, once, though a link names it too.
    symlinkSync('b.yaml', join(dir, 'more/c.yaml'));
    writeFileSync(join(dir, 'more/b.yaml'), 'hosts:\n  extra-b: {}\n  extra-c: {}\n');
    expect(await hosts()).toEqual({ compiled: true, ids: ['web1', 'web2', 'extra-b', 'extra-c'] });
  });

  it('ignores an entry it cannot use, and writes nothing where it should not', async () => {
    const dir = fleetDir();
    for (const damaged of ['', '{"format":1', 'null', '[]', '{"format":1,"build":"x"}']) {
      writeFileSync(join(dir, ENTRY), damaged);
      const result = await run(dir, ['list', 'hosts']);
      expect(result.exitCode, `${damaged}: ${result.stderr}`).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.stdout).toMatch(/^web2 /m);
      expect(result.compiled, damaged).toBe(true);
      expect((await run(dir, ['list', 'hosts'])).compiled, damaged).toBe(false);
    }
    // The same entry from another build of nixfleet.
    const entry = JSON.parse(readFileSync(join(dir, ENTRY), 'utf8'));
    writeFileSync(join(dir, ENTRY), JSON.stringify({ ...entry, build: '0'.repeat(64) }));
    expect((await run(dir, ['validate'])).compiled).toBe(true);

    // Turned off: neither read nor written.
    const off = fleetDir();
    expect((await run(off, ['validate'], { NIXFLEET_NO_FLEET_CACHE: '1' })).exitCode).toBe(0);
    expect(existsSync(join(off, ENTRY))).toBe(false);
    // No data directory: the cache does not create one.
    const none = makeTempDir({ 'fleet.yaml': FLEET });
    expect((await run(none, ['validate'])).exitCode).toBe(0);
    expect(existsSync(join(none, '.nixfleet'))).toBe(false);
    // Read from standard input: compiled every time, nothing kept.
    const stdin = fleetDir();
    const piped = await runCli(stdin, ['validate', '-f', '/dev/stdin'], { input: FLEET });
    expect(piped.exitCode, piped.stderr).toBe(0);
    expect(existsSync(join(stdin, ENTRY))).toBe(false);
    // A place it cannot write to: the command works all the same.
    const blocked = fleetDir();
    mkdirSync(join(blocked, ENTRY));
    for (let i = 0; i < 2; i++) {
      const result = await run(blocked, ['validate']);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stderr).toBe('');
      expect(result.compiled).toBe(true);
    }
    chmodSync(join(blocked, ENTRY), 0o755);
  });
});
