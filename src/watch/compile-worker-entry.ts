// The worker thread behind compileInWorker (see CORE-006, off the event loop): it loads fleets
// on request and posts back the Registry, or the ConfigErrors as plain data.
import { parentPort } from 'node:worker_threads';
import { loadRegistry } from '../config/load.js';
import { ConfigErrors } from '../errors/config-error.js';
import type { CompileReply, CompileRequest } from './compile-in-worker.js';

parentPort?.on('message', async ({ id, file, options }: CompileRequest) => {
  let reply: CompileReply;
  try {
    reply = { id, registry: await loadRegistry(file, options) };
  } catch (error) {
    reply =
      error instanceof ConfigErrors
        ? { id, errors: error.errors }
        : { id, message: error instanceof Error ? error.message : String(error) };
  }
  parentPort?.postMessage(reply);
});
