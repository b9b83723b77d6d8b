#!/usr/bin/env node
// `npm run bench [name...]`: runs each bench/*.bench.mjs (or the named ones) one after another,
// each in its own process so one benchmark's heap and children never skew the next.
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { allProcessesCpu } from './support/process-cpu.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const wanted = process.argv.slice(2);
const all = readdirSync(here)
  .filter((f) => f.endsWith('.bench.mjs'))
  .sort();
const chosen = wanted.length ? all.filter((f) => wanted.some((w) => f.startsWith(w))) : all;
if (chosen.length === 0) {
  console.error(`no benchmark matches ${wanted.join(', ')}; have: ${all.join(', ')}`);
  process.exit(2);
}

/**
 * What processes outside the benchmark used of the CPU while it ran: a busy neighbour (a stray
 * loop, another test run) skews every figure, and the load average alone does not say whose it
 * is. Counts processes alive before and after (with what they reaped: a shell loop's short-lived
 * children), not the benchmark's, which are gone by then or are this runner.
 */
function othersLine(before, after, ms) {
  const used = [];
  for (const [pid, now] of after) {
    const then = before.get(pid);
    if (pid === process.pid || then === undefined || then.name !== now.name) continue;
    const cpu = now.self + now.reaped - then.self - then.reaped;
    if (cpu > 0) used.push({ pid, name: now.name, cpu });
  }
  used.sort((a, b) => b.cpu - a.cpu);
  const share = (cpu) => `${Math.round((cpu / ms) * 100)}%`;
  const total = used.reduce((sum, p) => sum + p.cpu, 0);
  const top = used
    .filter((p) => p.cpu >= ms / 100)
    .slice(0, 3)
    .map((p) => `${p.name} (${p.pid}) ${share(p.cpu)}`);
  return `other processes meanwhile: ${share(total)} of a core${top.length ? `; busiest ${top.join(', ')}` : ''}`;
}

let failed = 0;
for (const file of chosen) {
  console.log(`\n=== ${file} ===`);
  const before = allProcessesCpu();
  const started = performance.now();
  const result = spawnSync(process.execPath, [join(here, file)], { stdio: 'inherit' });
  console.log(othersLine(before, allProcessesCpu(), performance.now() - started));
  if (result.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
