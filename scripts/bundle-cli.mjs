// Bundles the built CLI (dist/cli/main.js) into dist/bundle/, after tsc and
// build-validators.mjs, so that a start loads a few files instead of a hundred (see CORE-005,
// start-up). Each command stays its own chunk, loaded when it runs, as in dist/cli/main.js.
//
// dist/bundle/ sits two levels below the package root like dist/config/ and dist/cli/, so the
// paths the code computes from import.meta.url still resolve: ../../schemas/, ../../package.json,
// the dashboard's src/dashboard/static/. The files it loads next to itself are entry points here,
// under the names it looks for: fleet-validators.js (src/config/schema.ts),
// compile-worker-entry.js (src/watch/compile-in-worker.ts), pg-worker-entry.js
// (src/store/postgres/postgres-journal.ts) and spawner-process.js
// (src/engine/transports/spawner/spawner-client.ts).
//
// Of the packages, yaml (73 files, most of what validate, list and plan load) and the validators'
// ajv helpers are bundled: both are CommonJS, and an ES module import of CommonJS first loads
// Node's CommonJS export scanner. The others stay in node_modules, loaded as before: what only
// running commands, the dashboard or the PostgreSQL journal use; ajv's compiler, which the code
// imports by name at run time (an import() of a CommonJS module gets its named exports from
// Node, not from a bundle); better-sqlite3 and pg, which have native or optional parts a bundle
// cannot hold. meta.json says which sources each output file holds.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const target = resolve(root, 'dist/bundle');
// Built beside it and then swapped in, so that a CLI starting meanwhile finds the whole old
// bundle, the whole new one, or none (then bin/nixfleet.js runs dist/cli/), never half of one.
const outdir = `${target}.${process.pid}`;
const result = await build({
  absWorkingDir: root,
  entryPoints: {
    main: 'dist/cli/main.js',
    'fleet-validators': 'dist/config/fleet-validators.js',
    'compile-worker-entry': 'dist/watch/compile-worker-entry.js',
    'pg-worker-entry': 'dist/store/postgres/pg-worker-entry.js',
    'spawner-process': 'dist/engine/transports/spawner/spawner-process.js',
  },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: [
    'ajv/dist/2020.js',
    'better-sqlite3',
    'chokidar',
    'execa',
    'pg',
    'picomatch',
    'synckit',
    'tinyglobby',
    'ws',
  ],
  // yaml and ajv's helpers are CommonJS; in an ES module bundle their require() of Node's
  // built-ins needs a real require.
  banner: {
    js: "import { createRequire as __nixfleetRequire } from 'node:module'; const require = __nixfleetRequire(import.meta.url);",
  },
  logLevel: 'warning',
  metafile: true,
});
// Which sources each output file holds: test/e2e/startup-loads.test.ts reads it to tell which
// modules a command loaded.
writeFileSync(
  resolve(outdir, 'meta.json'),
  JSON.stringify(result.metafile).replaceAll(`dist/bundle.${process.pid}/`, 'dist/bundle/'),
);
rmSync(target, { recursive: true, force: true });
renameSync(outdir, target);
