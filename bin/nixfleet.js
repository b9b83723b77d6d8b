#!/usr/bin/env node
// Built-ins through getBuiltinModule, not import: an import builds the module's whole ES facade,
// and on Node 24 the one of node:fs loads node:fs/promises with it (CORE-005, start-up).
const { statSync } = process.getBuiltinModule('node:fs');
const module = process.getBuiltinModule('node:module');

// Node 22.1 and newer keep compiled code between starts; on Node 20 this is absent and skipped.
module.enableCompileCache?.();
// What ships is the bundle (scripts/bundle-cli.mjs; see CORE-005, start-up). A dist/ that tsc
// rebuilt after the bundle was made is newer than it, and then runs as tsc built it.
const bundle = new URL('../dist/bundle/main.js', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const { main } = await import(mtime(bundle) >= mtime(built) ? bundle.href : built.href);
process.exitCode = await main(process.argv.slice(2));
