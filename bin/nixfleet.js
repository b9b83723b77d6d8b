#!/usr/bin/env node
// Built-ins through getBuiltinModule, not import: an import builds the module's whole ES facade,
// and on Node 24 the one of node:fs loads node:fs/promises with it (CORE-005, start-up).
const { closeSync, openSync, statSync } = process.getBuiltinModule('node:fs');
const module = process.getBuiltinModule('node:module');
const { isatty } = process.getBuiltinModule('node:tty');

// Node 20 aborts (SIGABRT, exit 134) when it exits after its terminal hung up: on the way
// out it sets the terminal's modes back on stdin, stdout and stderr, a hung-up terminal refuses
// that with EIO, and Node 20 asserts it cannot (22 and 24 no longer do). A closed terminal is a SIGHUP
// that `apply` and `retry` answer with a cancel and exit 130, or 4 (CORE-011, CORE-009). So each of
// the three that was a terminal at start and answers as none now (hung up) is put on /dev/null as
// the process exits: Node leaves a descriptor that was reopened alone. Closed in order, each one's
// number is the lowest free one, which /dev/null then takes.
const terminals = [0, 1, 2].filter((fd) => isatty(fd));
if (terminals.length > 0) {
  process.on('exit', () => {
    for (const fd of terminals.filter((fd) => !isatty(fd))) {
      closeSync(fd);
      openSync('/dev/null', fd === 0 ? 'r' : 'w');
    }
  });
}

// Node 22.1 and newer keep compiled code between starts; on Node 20 this is absent and skipped.
module.enableCompileCache?.();
// What ships is the bundle (scripts/bundle-cli.mjs; see CORE-005, start-up). A dist/ that tsc
// rebuilt after the bundle was made is newer than it, and then runs as tsc built it.
const bundle = new URL('../dist/bundle/main.js', import.meta.url);
const built = new URL('../dist/cli/main.js', import.meta.url);
const mtime = (url) => statSync(url, { throwIfNoEntry: false })?.mtimeMs ?? -1;
const { main } = await import(mtime(bundle) >= mtime(built) ? bundle.href : built.href);
process.exitCode = await main(process.argv.slice(2));
