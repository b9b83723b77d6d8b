// Preloaded into the real CLI with `node --import` (test/e2e/startup-loads.test.ts): appends the
// URL of every module the process loads to the file named by $NIXFLEET_MODULE_LOG, one a line,
// so a test can see what a command loads. ES modules are seen by a resolve hook (which runs in
// Node's loader thread), CommonJS ones (require, createRequire) by wrapping Module._load.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { isMainThread } from 'node:worker_threads';

const log = process.env.NIXFLEET_MODULE_LOG;

if (isMainThread && log) {
  register(import.meta.url, { data: { log } });
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
