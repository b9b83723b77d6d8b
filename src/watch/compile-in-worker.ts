// Compiles fleets on a worker thread, so that `serve` and `watch` keep answering while a large
// fleet recompiles (see CORE-006, off the event loop): a 2,000-host × 200-op fleet takes about a
// second to compile, which on the main thread would stall every socket for that long.
// The worker is started on first use, unref'd (it never keeps the process alive) and reused.
// Run from the TypeScript sources (unit tests) there is no compiled entry file, so this falls
// back to compiling on the calling thread.
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { type LoadOptions, loadRegistry } from '../config/load.js';
import { type ConfigError, ConfigErrors } from '../errors/config-error.js';
import type { Registry } from '../registry/types.js';

export interface CompileRequest {
  readonly id: number;
  readonly file: string;
  readonly options: LoadOptions;
}

export type CompileReply =
  | { readonly id: number; readonly registry: Registry }
  | { readonly id: number; readonly errors: readonly ConfigError[] }
  | { readonly id: number; readonly message: string };

const ENTRY = new URL('./compile-worker-entry.js', import.meta.url);

let worker: Worker | undefined;
let nextId = 1;
const pending = new Map<number, { resolve: (registry: Registry) => void; reject: (error: Error) => void }>();

export function compileInWorker(file: string, options: LoadOptions = {}): Promise<Registry> {
  if (!existsSync(ENTRY)) return loadRegistry(file, options);
  const id = nextId++;
  const result = new Promise<Registry>((resolve, reject) => pending.set(id, { resolve, reject }));
  const thread = startedWorker();
  thread.ref();
  thread.postMessage({ id, file, options } satisfies CompileRequest);
  return result;
}

function startedWorker(): Worker {
  if (worker) return worker;
  const thread = new Worker(ENTRY);
  thread.on('message', (reply: CompileReply) => {
    const waiter = pending.get(reply.id);
    pending.delete(reply.id);
    if (pending.size === 0) thread.unref();
    if (!waiter) return;
    if ('registry' in reply) waiter.resolve(reply.registry);
    else if ('errors' in reply) waiter.reject(new ConfigErrors(reply.errors));
    else waiter.reject(new Error(reply.message));
  });
  // A worker that dies fails what it was doing; the next compile starts a new one.
  const fail = (error: Error) => {
    if (worker === thread) worker = undefined;
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  };
  thread.on('error', fail);
  thread.on('exit', (code) => fail(new Error(`the fleet compiler thread exited with code ${code}`)));
  worker = thread;
  return thread;
}
