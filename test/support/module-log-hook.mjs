// Preloaded into the real CLI with `node --import` (test/e2e/startup-loads.test.ts): appends the
// URL of every module the process loads to the file named by $NIXFLEET_MODULE_LOG, one a line,
// so a test can see what a command loads. ES modules are seen by a resolve hook (which runs in
// Node's loader thread), CommonJS ones (require, createRequire) by wrapping Module._load. At exit
// it adds Node's own modules that were loaded, however (`builtin:crypto`, `builtin:fs/promises`).
// Its own built-ins come through getBuiltinModule: an import's facade would load more of them
// (CORE-005, start-up).
const { appendFileSync } = process.getBuiltinModule('node:fs');
const Module = process.getBuiltinModule('node:module');
const { pathToFileURL } = process.getBuiltinModule('node:url');
const { isMainThread } = process.getBuiltinModule('node:worker_threads');

const log = process.env.NIXFLEET_MODULE_LOG;

if (isMainThread && log) {
  Module.register(import.meta.url, { data: { log } });
  process.on('exit', () => {
    const builtins = process.moduleLoadList.filter((entry) => entry.startsWith('NativeModule '));
    appendFileSync(log, builtins.map((entry) => `builtin:${entry.slice('NativeModule '.length)}\n`).join(''));
  });
  const load = Module._load;
  Module._load = function (request, parent, isMain, ...rest) {
    try {
      const url = Module.isBuiltin(request)
        ? `node:${request.replace(/^node:/, '')}`
        : pathToFileURL(Module._resolveFilename(request, parent, isMain)).href;
      appendFileSync(log, `${url}\n`);
    } catch {
      // A built-in or a missing module: load() below says so, if it matters.
    }
    return load.call(this, request, parent, isMain, ...rest);
  };
}

let file;
export function initialize(data) {
  file = data.log;
}

export async function resolve(specifier, context, nextResolve) {
  const resolved = await nextResolve(specifier, context);
  if (file) appendFileSync(file, `${resolved.url}\n`);
  return resolved;
}
