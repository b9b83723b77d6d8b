// Does `apply` stay flat as the fleet grows (see CORE-002, performance)? 300, 1,000 and 3,000
// local hosts × 3 no-op stages at concurrency 50, each size in a fresh `node` child running the
// real engine and journal, reporting wall time and the child's peak RSS per host. Baseline in
// the same run: `xargs -P 50 sh -c true` over the same number of commands.
// Goal: the largest size within 1.25× the smallest, per host, for both time and memory.
// Run: npm run build && node bench/growth.bench.mjs
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SIZES = [300, 1000, 3000];
const STAGES = 3;
const CONCURRENCY = 50;
const GOAL = 1.25;
const SELF = fileURLToPath(import.meta.url);

if (process.argv[2] === 'child') {
  await child(Number(process.argv[3]), process.argv[4]);
} else {
  await main();
}

async function child(hosts, dir) {
  const { loadRegistry } = await import('../dist/config/load.js');
  const { buildPlan } = await import('../dist/engine/plan.js');
  const { startRun } = await import('../dist/engine/run.js');
  const { openJournal } = await import('../dist/store/journal.js');
  const lines = ['version: 1', `settings: { concurrency: ${CONCURRENCY} }`, 'hosts:'];
  for (let i = 0; i < hosts; i++) lines.push(`  h${i}: {}`);
  lines.push('ops:');
  for (let s = 0; s < STAGES; s++) lines.push(`  s${s}:`, '    run: "true"');
  lines.push('pipelines:', `  bench: { ops: [${Array.from({ length: STAGES }, (_, s) => `s${s}`).join(', ')}] }`);
  writeFileSync(join(dir, 'fleet.yaml'), `${lines.join('\n')}\n`);
  const started = performance.now();
  const registry = await loadRegistry(join(dir, 'fleet.yaml'));
  const journal = openJournal(registry.settings.dataDir);
  const run = await startRun(buildPlan(registry, 'bench', undefined), {
    journal,
    actor: 'bench',
    concurrency: CONCURRENCY,
  });
  const outcome = await run.done;
  const ms = performance.now() - started;
  journal.close();
  if (outcome.status !== 'COMPLETE') throw new Error(`run ended ${outcome.status}`);
  const peakRssKb = process.resourceUsage().maxRSS;
  process.stdout.write(JSON.stringify({ ms, peakRssKb }));
}

function xargs(commands) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const proc = spawn('sh', ['-c', `seq ${commands} | xargs -P ${CONCURRENCY} -I{} sh -c true`], { stdio: 'ignore' });
    proc.on('error', reject);
    proc.on('exit', (code) => (code === 0 ? resolve(performance.now() - started) : reject(new Error(`xargs ${code}`))));
  });
}

async function main() {
  console.log(
    `load average ${loadavg()
      .map((n) => n.toFixed(2))
      .join(' ')}`,
  );
  console.log('hosts  commands  nixfleet s  xargs s  ratio  ms/host  peak RSS MB  KB/host');
  const rows = [];
  for (const hosts of SIZES) {
    const dir = mkdtempSync(join(tmpdir(), 'nixfleet-growth-'));
    try {
      const baseMs = await xargs(hosts * STAGES);
      const result = spawnSync(process.execPath, [SELF, 'child', String(hosts), dir], { encoding: 'utf8' });
      if (result.status !== 0) throw new Error(`child for ${hosts} hosts failed: ${result.stderr}`);
      const { ms, peakRssKb } = JSON.parse(result.stdout);
      const row = { hosts, ms, baseMs, msPerHost: ms / hosts, kbPerHost: peakRssKb / hosts, peakRssKb };
      rows.push(row);
      console.log(
        `${String(hosts).padStart(5)}  ${String(hosts * STAGES).padStart(8)}  ${(ms / 1000).toFixed(2).padStart(10)}  ${(baseMs / 1000).toFixed(2).padStart(7)}  ${(ms / baseMs).toFixed(2).padStart(5)}  ${row.msPerHost.toFixed(2).padStart(7)}  ${(peakRssKb / 1024).toFixed(0).padStart(11)}  ${row.kbPerHost.toFixed(0).padStart(7)}`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const first = rows[0];
  const last = rows.at(-1);
  const timeGrowth = last.msPerHost / first.msPerHost;
  const memoryGrowth = last.kbPerHost / first.kbPerHost;
  console.log(
    `time per host, ${last.hosts} vs ${first.hosts}: ${timeGrowth.toFixed(2)}× (goal <= ${GOAL}×) ${timeGrowth <= GOAL ? 'met' : 'MISSED'}`,
  );
  console.log(
    `peak memory per host, ${last.hosts} vs ${first.hosts}: ${memoryGrowth.toFixed(2)}× (goal <= ${GOAL}×) ${memoryGrowth <= GOAL ? 'met' : 'MISSED'}`,
  );
}
