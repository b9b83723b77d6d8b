// Bundles the built CLI (dist/cli/main.js) into dist/bundle/, after tsc and
// build-validators.mjs, so that a start loads a few files instead of a hundred (see CORE-005,
// start-up).
//
// One file per unit that is loaded on its own, each holding everything it imports statically:
// main.js (the entry point), one file per command, each module the code loads with import()
// (LAZY below), and the entry points of other threads and processes. Node 20 pays for every ES
// module file it loads (resolution, an asynchronous read, linking): loading `validate` as one file
// instead of its thirteen chunks took 27 ms off the command (CORE-005). Code shared between
// two such files is in both; what must exist once per process is either in one of them only (the
// engine's lifeline and spawners: only the command that runs things holds them) or in errors.js:
// the error classes that cross from one file to another, where `instanceof` needs one class.
//
// dist/bundle/ sits two levels below the package root like dist/config/ and dist/cli/, so the
// paths the code computes from import.meta.url still resolve: ../../schemas/, ../../package.json,
// the dashboard's src/dashboard/static/. The files it loads next to itself are entry points here,
// under the names it looks for: fleet-validators.js (src/config/schema.ts),
// compile-worker-entry.js (src/watch/compile-in-worker.ts), pg-worker-entry.js
// (src/store/postgres/postgres-journal.ts) and spawner-process.js
// (src/engine/transports/spawner/spawner-client.ts). The files that are not JavaScript, the
// Python and Perl spawners (spawner.py, spawner.pl), are copied beside the bundle and beside tsc's
// spawner-client.js.
//
// Of the packages, yaml (73 files, most of what validate, list and plan load), the validators'
// ajv helpers and the JavaScript of both better-sqlite3 majors are bundled: an ES module import of
// CommonJS first loads Node's CommonJS export scanner, and yaml is bundled from its ES module
// build. better-sqlite3's addon stays in node_modules, loaded by its path (src/store/database.ts).
// The others stay in node_modules, loaded as before: what only running commands, the dashboard or
// the PostgreSQL journal use; ajv's compiler, which the code imports by name at run time (an
// import() of a CommonJS module gets its named exports from Node, not from a bundle); pg, which
// has optional parts a bundle cannot hold. meta.json says which sources each output file holds.
import { createHash } from 'node:crypto';
import { copyFileSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import { removeStaleBundles } from './stale-bundles.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = resolve(root, 'dist/bundle');
// Built beside it and then swapped in, so that a CLI starting meanwhile finds the whole old
// bundle, the whole new one, or none (then bin/nixfleet.js runs dist/cli/), never half of one.
const outdir = `${target}.${process.pid}`;
removeStaleBundles(resolve(root, 'dist'));
const fromRoot = (path) => relative(root, path).split('\\').join('/');
const commands = readdirSync(resolve(root, 'src/cli/commands'))
  .filter((name) => name.endsWith('.ts'))
  .map((name) => basename(name, '.ts'));
/** Every module the code loads with import(), by its file under dist/, and the file it becomes. */
const LAZY = {
  ...Object.fromEntries(commands.map((name) => [`dist/cli/commands/${name}.js`, name])),
  'dist/config/load.js': 'fleet-compiler',
  'dist/cli/fleet-setting.js': 'fleet-setting',
};
/** The classes that cross between files (thrown in one, told apart with instanceof in another). */
const SHARED = [
  'dist/errors/user-error.js',
  'dist/store/already-retried-error.js',
  'dist/errors/config-error.js',
  'dist/store/journal-error.js',
  'dist/store/hosts-busy-error.js',
  'dist/store/record-not-found-error.js',
  'dist/store/store-unavailable-error.js',
];
const SHARED_ENTRY = 'nixfleet:shared-errors';

const oneFilePerUnit = {
  name: 'one-file-per-unit',
  setup(plugin) {
    plugin.onResolve({ filter: new RegExp(`^${SHARED_ENTRY}$`) }, () => ({ path: SHARED_ENTRY, namespace: 'shared' }));
    plugin.onLoad({ filter: /.*/, namespace: 'shared' }, () => ({
      contents: SHARED.map((file) => `export * from ${JSON.stringify(`./${file}`)};`).join('\n'),
      resolveDir: root,
      loader: 'js',
    }));
    plugin.onResolve({ filter: /^\./ }, (args) => {
      const file = fromRoot(resolve(args.resolveDir, args.path));
      if (args.kind === 'dynamic-import') {
        if (!(file in LAZY)) {
          return { errors: [{ text: `${file} is loaded with import(): add it to LAZY in scripts/bundle-cli.mjs` }] };
        }
        return { path: `./${LAZY[file]}.js`, external: true };
      }
      // Inside errors.js its classes are bundled; everywhere else they are imported from it.
      if (SHARED.includes(file) && args.namespace !== 'shared' && !SHARED.includes(fromRoot(args.importer))) {
        return { path: './errors.js', external: true };
      }
      return undefined;
    });
  },
};

// Node's built-ins come from process.getBuiltinModule, not from their ES module facades: a facade
// is built with every export the module has, and on Node 24 that loads what the code never asks
// for (node:fs's facade loads node:fs/promises and readline; node:util's loads its diff and
// worker_threads: about 7 ms of a 30 ms `node -e 0`, CORE-005, start-up). Each built-in becomes
// a small module that exports only the names some file of dist/ imports from it by name (the
// code imports Node's built-ins only that way).
/** Every file tsc wrote, by its path from the package root (dist/...), read once for both checks. */
const distText = new Map(
  readdirSync(resolve(root, 'dist'), { recursive: true })
    .map(String)
    .filter((file) => file.endsWith('.js') && !file.startsWith('bundle'))
    .map((file) => [`dist/${file.split('\\').join('/')}`, readFileSync(resolve(root, 'dist', file), 'utf8')]),
);
// The build's id: a hash of everything it is made of (tsc's output, which holds the compiled
// schema, and the schemas and package.json read at run time). The fleet cache keeps a registry
// only for the build that compiled it (src/config/fleet-cache.ts, CORE-005, start-up).
const buildHash = createHash('sha256');
for (const file of [...distText.keys()].sort()) buildHash.update(`${file}\0${distText.get(file)}\0`);
for (const name of readdirSync(resolve(root, 'schemas')).sort()) {
  buildHash.update(`schemas/${name}\0${readFileSync(resolve(root, 'schemas', name), 'utf8')}\0`);
}
buildHash.update(readFileSync(resolve(root, 'package.json'), 'utf8'));
const buildId = buildHash.digest('hex');
const builtinImports = new Map();
for (const [file, code] of distText) {
  // A default or namespace import would get only the names imported elsewhere: refused.
  const whole = /\bimport\s+(?!\{)[^'";]*\bfrom\s*['"]node:[^'"]+['"]/.exec(code);
  if (whole) throw new Error(`${file}: \`${whole[0]}\`: import Node's built-ins by name (import { x } from 'node:y')`);
  for (const [, names, builtin] of code.matchAll(/\bimport\s*\{([^}]*)\}\s*from\s*['"](node:[^'"]+)['"]/g)) {
    const known = builtinImports.get(builtin) ?? new Set();
    for (const name of names.split(',')) {
      const imported = name.trim().split(/\s+as\s+/)[0];
      if (imported) known.add(imported);
    }
    builtinImports.set(builtin, known);
  }
}
const builtinsWithoutFacades = {
  name: 'builtins-without-facades',
  setup(plugin) {
    plugin.onResolve({ filter: /^node:/ }, (args) =>
      args.kind === 'import-statement' ? { path: args.path, namespace: 'builtin' } : undefined,
    );
    plugin.onLoad({ filter: /.*/, namespace: 'builtin' }, (args) => ({
      contents: [
        `const builtin = process.getBuiltinModule(${JSON.stringify(args.path)});`,
        ...[...(builtinImports.get(args.path) ?? [])].map((name) => `export const ${name} = builtin.${name};`),
      ].join('\n'),
      loader: 'js',
    }));
  },
};
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'dist/cli/main.js',
    errors: SHARED_ENTRY,
    ...Object.fromEntries(Object.entries(LAZY).map(([file, name]) => [name, file])),
    'fleet-validators': 'dist/config/fleet-validators.js',
    'compile-worker-entry': 'dist/watch/compile-worker-entry.js',
    'pg-worker-entry': 'dist/store/postgres/pg-worker-entry.js',
    'spawner-process': 'dist/engine/transports/spawner/spawner-process.js',
  },
  outdir,
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [
    'ajv/dist/2020.js',
    // Reached only by a better-sqlite3 12 that was given no addon, which the bundle never does
    // (src/store/database.ts).
    'bindings',
    'chokidar',
    'execa',
    'pg',
    'picomatch',
    'synckit',
    'tinyglobby',
    'ws',
  ],
  // yaml's ES module build (the one it ships for browsers, the same code): esbuild leaves out
  // what no file uses (its stringifier, mostly) and runs no CommonJS wrapper at load (CORE-005).
  alias: { yaml: './node_modules/yaml/browser/dist/index.js' },
  plugins: [oneFilePerUnit, builtinsWithoutFacades],
  // yaml and ajv's helpers are CommonJS; in an ES module bundle their require() of Node's
  // built-ins needs a real require.
  banner: {
    js: "const require = process.getBuiltinModule('node:module').createRequire(import.meta.url);",
  },
  define: { NIXFLEET_BUILD_ID: JSON.stringify(buildId) },
  logLevel: 'warning',
  metafile: true,
});
// Each shared class exists once: in errors.js and in no other file.
for (const [file, output] of Object.entries(result.metafile.outputs)) {
  if (file.endsWith('/errors.js')) continue;
  const copied = SHARED.filter((source) => source in output.inputs);
  if (copied.length > 0) throw new Error(`${file} holds its own copy of ${copied.join(', ')}`);
}
// And SHARED is complete: an error class that another module tells apart with instanceof is in
// it. Left out, it would be copied into every file that uses it, and an error thrown in one file
// would not be an instance of the class another file checks for.
const sources = Object.keys(result.metafile.inputs).filter((source) => distText.has(source));
for (const source of sources) {
  if (SHARED.includes(source)) continue;
  for (const [, name] of distText.get(source).matchAll(/\bclass\s+(\w+)\s+extends\s+\w*Error\b/g)) {
    const checkedElsewhere = sources.filter(
      (other) => other !== source && new RegExp(`\\binstanceof\\s+${name}\\b`).test(distText.get(other)),
    );
    if (checkedElsewhere.length > 0) {
      throw new Error(
        `${name} (${source}) is told apart with instanceof in ${checkedElsewhere.join(', ')}: add ${source} to SHARED in scripts/bundle-cli.mjs`,
      );
    }
  }
}
// Which sources each output file holds: test/e2e/startup-loads.test.ts reads it to tell which
// modules a command loaded.
writeFileSync(
  resolve(outdir, 'meta.json'),
  JSON.stringify(result.metafile).replaceAll(`dist/bundle.${process.pid}/`, 'dist/bundle/'),
);
for (const script of ['spawner.py', 'spawner.pl']) {
  const source = resolve(root, 'src/engine/transports/spawner', script);
  copyFileSync(source, resolve(outdir, script));
  copyFileSync(source, resolve(root, 'dist/engine/transports/spawner', script));
}
rmSync(target, { recursive: true, force: true });
renameSync(outdir, target);
