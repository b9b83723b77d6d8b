// How long a reload of a large fleet blocks the event loop of `serve` and `watch` (see CORE-006,
// off the event loop). A 2,000-host × 200-op fleet is saved RELOADS times while a 1 ms interval
// timer records the longest gap between its ticks. Two contenders in the same run, same files:
//   worker     the watcher as shipped (compiles on a worker thread)
//   in-thread  the same watcher compiling on the main thread (the baseline: what it did before)
// Goal: the longest event-loop delay during a reload stays under 50 ms with the worker.
// Run: npm run build && node bench/reload-blocking.bench.mjs
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

import { writeLargeFleet } from './support/large-fleet.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadRegistry } = await import(join(root, 'dist/config/load.js'));
const { watchRegistry } = await import(join(root, 'dist/watch/registry-watcher.js'));

const RELOADS = 5;
const GOAL_MS = 50;

/** The longest gap between ticks of a 1 ms timer while `work` runs. */
async function longestStall(work) {
  let last = performance.now();
  let longest = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    longest = Math.max(longest, now - last);
    last = now;
  }, 1);
  try {
    await work();
  } finally {
    clearInterval(timer);
  }
  return longest;
}

async function measure(compile) {
  const dir = mkdtempSync(join(tmpdir(), 'nixfleet-bench-blocking-'));
  try {
    const { opsFile } = writeLargeFleet(dir);
    let onSwap;
    const watcher = watchRegistry(join(dir, 'fleet.yaml'), {
      onReload: () => onSwap?.(),
      onError: (errors) => console.error(errors.map((e) => e.message).join('; ')),
      ...(compile ? { compile } : {}),
    });
    await watcher.ready;
    const stalls = [];
    for (let i = 1; i <= RELOADS; i++) {
      const swapped = new Promise((resolve) => {
        onSwap = resolve;
      });
      await new Promise((resolve) => setTimeout(resolve, 200));
      stalls.push(
        await longestStall(async () => {
          writeFileSync(opsFile, readFileSync(opsFile, 'utf8').replace(/revision \d+/g, `revision ${i}`));
          await swapped;
        }),
      );
    }
    await watcher.close();
    return Math.max(...stalls);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

console.log(
  `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}; ${RELOADS} reloads of 2,000 hosts × 200 ops`,
);
const inThread = await measure(loadRegistry);
const worker = await measure(undefined);
console.log(`in-thread compile (baseline)  longest event-loop stall ${inThread.toFixed(0)} ms`);
console.log(`worker compile (shipped)      longest event-loop stall ${worker.toFixed(0)} ms`);
console.log(
  `ratio worker / in-thread ${(worker / inThread).toFixed(2)}; goal < ${GOAL_MS} ms: ${worker < GOAL_MS ? 'met' : 'MISSED'}`,
);
process.exit(0);
