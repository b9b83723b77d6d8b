// Start-up (see CORE-005, start-up): each read-only command loads only what it uses. The real CLI
// runs with a hook that logs every module it loads (test/support/module-log-hook.mjs); a file of
// the bundle (dist/bundle/, what ships) counts as the sources it holds (its meta.json). `runs` and
// `show` read the journal without the fleet compiler, and still find the data directory and store
// that the fleet file's settings name, however the file spells them.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, ROOT, runCli, spawnCli } from '../support/cli.js';

const HOOK = pathToFileURL(join(ROOT, 'test/support/module-log-hook.mjs')).href;
const BUNDLE = join(ROOT, 'dist/bundle');

/** Bundles dist/ again when tsc rebuilt it since (bin/nixfleet.js would run dist/cli/ then). */
function freshBundle(): Record<string, readonly string[]> {
  const mtime = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
  if (mtime(join(BUNDLE, 'main.js')) < mtime(join(ROOT, 'dist/cli/main.js'))) {
    execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs')], { cwd: ROOT });
  }
  const meta = JSON.parse(readFileSync(join(BUNDLE, 'meta.json'), 'utf8')) as {
    outputs: Record<string, { inputs: Record<string, unknown> }>;
  };
  return Object.fromEntries(Object.entries(meta.outputs).map(([file, { inputs }]) => [file, Object.keys(inputs)]));
}
let sourcesOf: Record<string, readonly string[]>;

const FLEET = `version: 1
hosts:
  web1: {}
ops:
  hello:
    run: echo hello {{ host.name }}
pipelines:
  greet: { ops: [hello] }
`;

/**
 * The modules one run of the CLI loaded, as paths below the package (node_modules/x/..., dist/...):
 * each file of the bundle, then the sources it holds.
 */
async function modulesLoadedBy(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<string[]> {
  return (await filesLoadedBy(cwd, args, env)).flatMap((path) => [path, ...(sourcesOf[path] ?? [])]);
}

/** The files one run of the CLI loaded, as paths below the package: each file of the bundle, not its sources. */
async function filesLoadedBy(
  cwd: string,
  args: readonly string[],
  env: Record<string, string> = {},
): Promise<string[]> {
  const log = join(makeTempDir({}, 'nixfleet-modules-'), 'loaded.txt');
  const result = await runCli(cwd, args, {
    env: { NODE_OPTIONS: `--import ${HOOK}`, NIXFLEET_MODULE_LOG: log, ...env },
  });
  expect(result.stderr).toBe('');
  expect(result.exitCode).toBe(0);
  const root = `${pathToFileURL(ROOT).href}/`;
  return readFileSync(log, 'utf8')
    .split('\n')
    .filter((url) => url.startsWith(root))
    .map((url) => url.slice(root.length));
}

/** Node's own modules one run of the CLI loaded (`crypto`, `fs/promises`, `internal/...`). */
async function builtinsLoadedBy(cwd: string, args: readonly string[]): Promise<string[]> {
  const log = join(makeTempDir({}, 'nixfleet-modules-'), 'loaded.txt');
  const result = await runCli(cwd, args, { env: { NODE_OPTIONS: `--import ${HOOK}`, NIXFLEET_MODULE_LOG: log } });
  expect(result.exitCode).toBe(0);
  return readFileSync(log, 'utf8')
    .split('\n')
    .flatMap((line) => (line.startsWith('builtin:') ? [line.slice('builtin:'.length)] : []));
}

/** The files of the bundle a command loaded, by name, sorted. */
const bundleFilesIn = (modules: readonly string[]) =>
  [...new Set(modules.flatMap((path) => /^dist\/bundle\/([^/]+\.js)$/.exec(path)?.[1] ?? []))].sort();

const packagesIn = (modules: readonly string[]) =>
  new Set(modules.flatMap((path) => /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(path)?.[1] ?? []));

// The SQLite driver the journal loads on this Node (src/store/database.ts, CORE-003).
const DRIVER = Number(process.versions.napi) >= 10 ? 'better-sqlite3-napi' : 'better-sqlite3';

// What only `apply`, `watch`, `serve` and the PostgreSQL journal need.
const RUNNING = ['execa', 'chokidar', 'synckit', 'pg', 'ws'];

describe('what a read-only command loads', { timeout: 120_000 }, () => {
  let dir: string;
  beforeAll(async () => {
    sourcesOf = freshBundle();
    // As `nixfleet init` writes it, the settings it leaves out are named in comments: they are
    // no keys, and no reason to parse the file. Nor is a shell command's backslash, which no key
    // can be spelled with outside double quotes.
    const withBackslashes = FLEET.replace(
      'ops:\n',
      String.raw`ops:
  split:
    run: |
      printf '%s\n' a.b | sed 's/\./-/' \
        | awk '{ print $1 }'
`,
    );
    dir = makeTempDir({
      'fleet.yaml': `${withBackslashes}# settings:\n  # dataDir: .nixfleet\n  # store: postgres://u@h/db\n`,
    });
    expect((await runCli(dir, ['apply', 'greet'])).exitCode).toBe(0);
  });

  it('--help runs the bundle, and loads no package and no command', async () => {
    const modules = await modulesLoadedBy(dir, ['--help']);
    expect(modules).toContain('dist/bundle/main.js');
    expect([...packagesIn(modules)]).toEqual([]);
    expect(modules.filter((path) => path.startsWith('dist/cli/commands/'))).toEqual([]);
  });

  it('runs and show read the journal without yaml, the schema, the fleet compiler or the engine', async () => {
    for (const args of [['runs'], ['show', 'r1']]) {
      const modules = await modulesLoadedBy(dir, args);
      const packages = packagesIn(modules);
      // One file per unit of the bundle (scripts/bundle-cli.mjs): the entry, the shared error
      // classes and the command, instead of a dozen chunks.
      expect(bundleFilesIn(modules), args[0]).toEqual(['errors.js', 'main.js', `${args[0]}.js`]);
      expect(packages.has(DRIVER), args[0]).toBe(true);
      // The addon is loaded by its path, not found through `bindings` (store/database.ts).
      expect(packages.has('bindings'), args[0]).toBe(false);
      // The driver's JavaScript is the copy in the bundle: of its package only the addon is
      // loaded from node_modules (store/database.ts, CORE-005 start-up).
      expect(sourcesOf[`dist/bundle/${args[0]}.js`], args[0]).toContain(`node_modules/${DRIVER}/lib/database.js`);
      const fromPackage = (await filesLoadedBy(dir, args)).filter((path) => path.startsWith(`node_modules/${DRIVER}/`));
      expect(fromPackage.length, args[0]).toBe(1);
      expect(fromPackage[0], args[0]).toMatch(/\.node$/);
      for (const name of ['yaml', 'ajv', 'tinyglobby', ...RUNNING])
        expect(packages.has(name), `${args[0]}: ${name}`).toBe(false);
      expect(
        modules.filter((path) => /^dist\/(engine|sync|watch)\//.test(path) || path === 'dist/config/load.js'),
        args[0],
      ).toEqual([]);
    }
  });

  it('validate, list and plan compile the fleet without the journal or anything that runs commands', async () => {
    for (const args of [['validate'], ['list'], ['plan', 'greet']]) {
      // As on a first start: the fleet cache (below) would spare the compiler.
      const modules = await modulesLoadedBy(dir, args, { NIXFLEET_NO_FLEET_CACHE: '1' });
      const packages = packagesIn(modules);
      expect(bundleFilesIn(modules), args[0]).toEqual(
        ['errors.js', 'fleet-compiler.js', 'fleet-validators.js', 'main.js', `${args[0]}.js`].sort(),
      );
      expect(packages.has('yaml'), args[0]).toBe(true);
      for (const name of ['better-sqlite3', 'better-sqlite3-napi', ...RUNNING]) {
        expect(packages.has(name), `${args[0]}: ${name}`).toBe(false);
      }
      expect(modules, args[0]).not.toContain('dist/store/journal.js');
      // The validators compiled at build time, found next to the bundle: ajv's compiler stays unloaded.
      expect(modules, args[0]).toContain('dist/bundle/fleet-validators.js');
      expect(modules, args[0]).not.toContain('node_modules/ajv/dist/2020.js');
    }
  });
});

describe('a read-only command with the fleet cache', { timeout: 120_000 }, () => {
  it('validate, list and plan take the fleet from the cache: no yaml, no validators, no compiler', async () => {
    sourcesOf = freshBundle();
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    expect((await runCli(dir, ['apply', 'greet'])).exitCode).toBe(0);
    // The first start after apply compiles and keeps the registry; the next ones take it back.
    expect(bundleFilesIn(await modulesLoadedBy(dir, ['validate']))).toContain('fleet-compiler.js');
    for (const args of [['validate'], ['list'], ['plan', 'greet']]) {
      const modules = await modulesLoadedBy(dir, args);
      expect(bundleFilesIn(modules), args[0]).toEqual(['errors.js', 'main.js', `${args[0]}.js`].sort());
      for (const name of ['yaml', 'ajv', 'better-sqlite3', 'better-sqlite3-napi', ...RUNNING]) {
        expect(packagesIn(modules).has(name), `${args[0]}: ${name}`).toBe(false);
      }
    }
  });
});

describe("Node's own modules a read-only command loads", { timeout: 120_000 }, () => {
  it('validate, list, plan and --version load neither node:crypto nor node:fs/promises', async () => {
    // The registry's hash is computed only when read, the fleet file and package.json are read
    // with readFileSync, and no built-in comes through an ES module facade (on Node 24 node:fs's
    // loads fs/promises).
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    for (const args of [['validate'], ['list'], ['plan', 'greet'], ['--version']]) {
      const builtins = await builtinsLoadedBy(dir, args);
      expect(builtins, args[0]).toContain('fs');
      expect(builtins, args[0]).not.toContain('crypto');
      expect(builtins, args[0]).not.toContain('fs/promises');
    }
  });

  it('runs and show do not load perf_hooks (the global `performance` loads it on first use)', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    expect((await runCli(dir, ['apply', 'greet'])).exitCode).toBe(0);
    for (const args of [['runs'], ['show', 'r1']]) {
      const builtins = await builtinsLoadedBy(dir, args);
      expect(builtins, args[0]).toContain('fs');
      expect(builtins, args[0]).not.toContain('perf_hooks');
    }
  });
});

describe('runs and show still follow the settings of the fleet file', { timeout: 120_000 }, () => {
  it('finds the journal in settings.dataDir, written plainly or with an escaped key', async () => {
    // The third over two lines, its line break escaped: its `\x44` is on a line with no quote
    // (load-fleet.ts, `settingIn`).
    for (const key of ['dataDir', '"data\\x44ir"', '? "data\\\n    \\x44ir"\n  ']) {
      const dir = makeTempDir({ 'fleet.yaml': `${FLEET}settings:\n  ${key}: state\n` });
      expect((await runCli(dir, ['apply', 'greet'])).exitCode).toBe(0);
      const runs = await runCli(dir, ['runs']);
      expect(runs.exitCode, key).toBe(0);
      expect(runs.stdout, key).toMatch(/^r1\s+greet\s+COMPLETE/m);
      const show = await runCli(dir, ['show', 'r1']);
      expect(show.exitCode, key).toBe(0);
      expect(show.stdout, key).toContain('run r1: pipeline greet');
    }
  });

  it('finds the journal in settings.dataDir given through a merge key or an alias: runs, show, logs, cancel, prune', async () => {
    // What the fleet compiler reads (merge keys and aliases, CORE-005) is where apply writes; the
    // commands that only read the journal must look there too, however the file spells it.
    const ops = 'ops:\n  hello:\n    run: echo hello {{ host.name }}\n  wait:\n    run: sleep 30\n';
    const pipelines = 'pipelines:\n  greet: { ops: [hello] }\n';
    const fleets: Record<string, string> = {
      'a merge key in settings': `version: 1\nx-a: &d {dataDir: jm}\nsettings:\n  <<: *d\nhosts: {web1: {}}\n${ops}${pipelines}`,
      'a merge key at the top': `version: 1\nx-s: &s {settings: {dataDir: jm}}\n<<: *s\nhosts: {web1: {}}\n${ops}${pipelines}`,
      'an alias for the value': `version: 1\nx-dir: &dir jm\nsettings:\n  dataDir: *dir\nhosts: {web1: {}}\n${ops}${pipelines}`,
      // More aliases than the yaml package's own default limit (100) allows.
      'beside 150 hosts merging one anchor': `version: 1\nx-h: &h {tags: [web]}\nsettings:\n  dataDir: jm\nhosts:\n${Array.from(
        { length: 150 },
        (_, i) => `  web${i + 1}: {<<: *h}\n`,
      ).join('')}${ops}pipelines:\n  greet: { ops: [hello], hosts: web1 }\n`,
    };
    for (const [spelling, fleet] of Object.entries(fleets)) {
      const dir = makeTempDir({ 'fleet.yaml': fleet });
      const apply = await runCli(dir, ['apply', 'greet']);
      expect(apply.exitCode, `${spelling}: ${apply.stderr}`).toBe(0);
      expect(existsSync(join(dir, 'jm/nixfleet.db')), spelling).toBe(true);
      const runs = await runCli(dir, ['runs']);
      expect(runs.stdout, spelling).toMatch(/^r1\s+greet\s+COMPLETE/m);
      const show = await runCli(dir, ['show', 'r1']);
      expect(show.exitCode, `${spelling}: ${show.stderr}`).toBe(0);
      expect(show.stdout, spelling).toContain('run r1: pipeline greet');
      const logs = await runCli(dir, ['logs', 'r1']);
      expect(logs.exitCode, `${spelling}: ${logs.stderr}`).toBe(0);
      expect(logs.stdout, spelling).toContain('hello web1');
      const cancel = await runCli(dir, ['cancel', 'r1']);
      expect(cancel.exitCode, `${spelling}: ${cancel.stderr}`).toBe(0);
      expect(cancel.stderr, spelling).toBe('run r1 already ended (COMPLETE); nothing to cancel');
      const prune = await runCli(dir, ['prune']);
      expect(prune.exitCode, `${spelling}: ${prune.stderr}`).toBe(0);
      expect(prune.stdout, spelling).toMatch(/^pruned 0 run\(s\), .* from .*\/jm$/);
      expect(existsSync(join(dir, '.nixfleet')), spelling).toBe(false);
    }

    // An anchor is its own file's: one in an included file is none in the main file, whose
    // settings then name nothing; apply refuses the file, and runs looks in the default.
    const included = makeTempDir({
      'fleet.yaml': `version: 1\ninclude: [more.yaml]\nsettings:\n  <<: *d\nhosts: {web1: {}}\n${ops}`,
      'more.yaml': 'x-d: &d {dataDir: jm}\n',
    });
    const refused = await runCli(included, ['apply', 'hello']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/^fleet\.yaml:4:7: invalid YAML: /);
    expect((await runCli(included, ['runs'])).stdout).toMatch(/^no journal in \.nixfleet: /);

    // A run still going is cancelled through the same journal, and runs still loads no compiler.
    const dir = makeTempDir({ 'fleet.yaml': fleets['a merge key in settings']! });
    const running = spawnCli(dir, ['apply', 'wait', '--renderer', 'plain']);
    await expect
      .poll(async () => (await runCli(dir, ['runs'])).stdout, { timeout: 20_000 })
      .toMatch(/^r1\s+wait\s+RUNNING/m);
    const cancel = await runCli(dir, ['cancel', 'r1', '--kill']);
    expect(cancel.exitCode, cancel.stderr).toBe(0);
    expect(cancel.stdout).toMatch(/^kill requested for run r1/);
    expect((await running).exitCode).toBe(130);
    expect(bundleFilesIn(await modulesLoadedBy(dir, ['runs']))).toEqual([
      'errors.js',
      'fleet-setting.js',
      'main.js',
      'runs.js',
    ]);
  });

  it('leaves a YAML warning in the fleet file (an unknown tag) to validate: runs prints none', async () => {
    const dir = makeTempDir({ 'fleet.yaml': `${FLEET}settings:\n  dataDir: state\n` });
    expect((await runCli(dir, ['apply', 'greet'])).exitCode).toBe(0);
    writeFileSync(join(dir, 'fleet.yaml'), `${FLEET}settings:\n  dataDir: state\nx-note: !vault secret\n`);
    const runs = await runCli(dir, ['runs']);
    expect(runs.stderr).toBe('');
    expect(runs.stdout).toMatch(/^r1\s+greet\s+COMPLETE/m);
    const validate = await runCli(dir, ['validate']);
    expect(validate.exitCode).toBe(2);
    expect(validate.stderr).toContain('fleet.yaml:11:9: invalid YAML: Unresolved tag: !vault');
  });

  it('reads settings.store, written with an escaped key or through a merge key, and refuses a URL that is not PostgreSQL', async () => {
    for (const settings of [
      `settings:\n  "\\x73tore": mysql://db/fleet\n`,
      `x-s: &s {store: "mysql://db/fleet"}\nsettings:\n  <<: *s\n`,
    ]) {
      const dir = makeTempDir({ 'fleet.yaml': `${FLEET}${settings}` });
      const runs = await runCli(dir, ['runs']);
      expect(runs.exitCode, settings).toBe(2);
      expect(runs.stderr, settings).toMatch(
        /settings\.store in .*fleet\.yaml: `mysql:\/\/db\/fleet` is not a PostgreSQL URL/,
      );
    }
  });
});
