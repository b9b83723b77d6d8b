// `nixfleet apply` throughput (see CORE-002): 300 local hosts × 3 no-op stages (`true`) at
// concurrency 50, every command fully journaled (PENDING -> VALIDATING -> EXECUTING -> SUCCESS,
// stage barriers, the run's changes). Baselines measured in the same run, on the same machine:
//   xargs       `xargs -P 50` running the same 900 `sh -c true` (no journal, no barriers)
//   node spawn  Node's own child_process.spawn of the same 900 `sh -c true` at 50 at a time
//               (the floor of the Node spawner, which nixfleet uses where there is neither
//               python3 nor perl; it prefers the Python spawner, then the Perl one, CORE-001; run
//               with a PATH without them to measure the others)
// Rounds alternate so load from the rest of the machine hits every contender alike.
// Beside the wall time, the CPU each contender's processes used per command (Linux, /proc): on a
// machine with fewer cores than commands at once, that is what the wall time is made of.
// Run: npx tsc -p tsconfig.build.json && node bench/apply.bench.mjs
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadRegistry } from '../dist/config/load.js';
import { buildPlan } from '../dist/engine/plan.js';
import { startRun } from '../dist/engine/run.js';
import { spawnerKind } from '../dist/engine/transports/spawner/spawner-client.js';
import { openJournal } from '../dist/store/journal.js';
import { descendantsCpu, processCpu } from './support/process-cpu.mjs';

const HOSTS = 300;
const STAGES = 3;
const CONCURRENCY = 50;
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const COMMANDS = HOSTS * STAGES;

function fleetYaml() {
  const hosts = Array.from({ length: HOSTS }, (_, i) => `  h${i}: {}`).join('\n');
  const ops = Array.from({ length: STAGES }, (_, i) => `  s${i}:\n    run: "true"`).join('\n');
  const stages = Array.from({ length: STAGES }, (_, i) => `s${i}`).join(', ');
  return `version: 1\nsettings: { concurrency: ${CONCURRENCY} }\nhosts:\n${hosts}\nops:\n${ops}\npipelines:\n  bench: { ops: [${stages}] }\n`;
}

async function benchNixfleet(root) {
  const dir = mkdtempSync(join(root, 'nixfleet-'));
  writeFileSync(join(dir, 'fleet.yaml'), fleetYaml());
  const registry = await loadRegistry(join(dir, 'fleet.yaml'));
  const plan = buildPlan(registry, 'bench', undefined);
  const before = { own: process.cpuUsage(), descendants: descendantsCpu() };
  const started = performance.now();
  const journal = openJournal(registry.settings.dataDir);
  const run = await startRun(plan, { journal, actor: 'bench', concurrency: CONCURRENCY });
  const outcome = await run.done;
  const ms = performance.now() - started;
  // nixfleet's other processes, by program name: the spawners (their own CPU, and their
  // commands' once reaped) and the lifeline (a shell and its awk). They outlive a run, so only
  // what they used during it counts.
  const own = process.cpuUsage(before.own);
  const cpu = { nixfleet: (own.user + own.system) / 1000, commands: 0 };
  for (const [pid, now] of descendantsCpu()) {
    const then = before.descendants.get(pid) ?? { self: 0, reaped: 0 };
    cpu[now.name] = (cpu[now.name] ?? 0) + now.self - then.self;
    if (now.name.startsWith('python3') || now.name === 'perl' || now.name === 'node')
      cpu.commands += now.reaped - then.reaped;
  }
  const succeeded = journal.listCommands({ runId: run.runId, limit: COMMANDS }).filter((c) => c.status === 'SUCCESS');
  journal.close();
  if (outcome.status !== 'COMPLETE' || succeeded.length !== COMMANDS) {
    throw new Error(`bench run ended ${outcome.status} with ${succeeded.length}/${COMMANDS} SUCCESS`);
  }
  return { ms, cpu };
}

/** CPU of the children this process reaped while `run` ran (fields 16-17 of /proc/self/stat). */
async function reapedCpu(run) {
  const before = processCpu(process.pid).reaped;
  const ms = await run();
  return { ms, cpu: { all: processCpu(process.pid).reaped - before } };
}

function benchXargs() {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const child = spawn('sh', ['-c', `seq ${COMMANDS} | xargs -P ${CONCURRENCY} -I{} sh -c true`], { stdio: 'ignore' });
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`xargs: ${code}`)),
    );
  });
}

async function benchNodeSpawn() {
  const own = process.cpuUsage();
  const { ms, cpu } = await reapedCpu(nodeSpawnLoop);
  const used = process.cpuUsage(own);
  return { ms, cpu: { loop: (used.user + used.system) / 1000, commands: cpu.all } };
}

async function nodeSpawnLoop() {
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < COMMANDS) {
      next++;
      await new Promise((resolve) => {
        const child = spawn('/bin/sh', ['-c', 'true'], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        child.on('close', resolve);
      });
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
  return performance.now() - started;
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const root = mkdtempSync(join(tmpdir(), 'nixfleet-apply-bench-'));
const results = { nixfleet: [], xargs: [], node: [] };
try {
  for (let round = 0; round < ROUNDS; round++) {
    results.xargs.push(await reapedCpu(benchXargs));
    results.nixfleet.push(await benchNixfleet(root));
    results.node.push(await benchNodeSpawn());
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const fmt = (ms) => `${(ms / 1000).toFixed(2)}s`;
console.log(
  `${HOSTS} hosts × ${STAGES} no-op stages = ${COMMANDS} commands, concurrency ${CONCURRENCY}, ${ROUNDS} rounds`,
);
console.log(`nixfleet's spawners: ${spawnerKind()}`);
console.log('contender                     median    per round');
for (const [name, label] of [
  ['nixfleet', 'nixfleet (journaled)'],
  ['xargs', 'xargs -P 50 sh -c true'],
  ['node', 'node spawn, no journal'],
]) {
  const walls = results[name].map((result) => result.ms);
  console.log(`${label.padEnd(30)}${fmt(median(walls)).padEnd(10)}${walls.map(fmt).join(' ')}`);
}
console.log('CPU per command, median of the rounds (ms)');
for (const [name, label] of [
  ['nixfleet', 'nixfleet'],
  ['xargs', 'xargs'],
  ['node', 'node spawn'],
]) {
  const parts = [...new Set(results[name].flatMap((result) => Object.keys(result.cpu)))].map((part) => [
    part,
    median(results[name].map((result) => result.cpu[part] ?? 0)) / COMMANDS,
  ]);
  const total = median(results[name].map((result) => Object.values(result.cpu).reduce((a, b) => a + b, 0))) / COMMANDS;
  console.log(
    `${label.padEnd(30)}${total.toFixed(2).padEnd(10)}${parts.map(([part, perCommand]) => `${part} ${perCommand.toFixed(2)}`).join(', ')}`,
  );
}
const wall = (name) => median(results[name].map((result) => result.ms));
const ratio = wall('nixfleet') / wall('xargs');
console.log(`ratio nixfleet / xargs:        ${ratio.toFixed(2)} (target <= 1.30)`);
console.log(
  `ratio nixfleet / node spawn:   ${(wall('nixfleet') / wall('node')).toFixed(2)} (nixfleet, journaled, against a bare Node spawn loop)`,
);
console.log(
  `ratio node spawn / xargs:      ${(wall('node') / wall('xargs')).toFixed(2)} (Node's own process spawning)`,
);
