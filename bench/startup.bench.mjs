// How long the read-only commands take to start and finish on the demo fleet, against `node -e 0`
// started the same way in the same run (see CORE-005, performance). Each command runs ROUNDS
// times, interleaved with the baseline so both see the same machine; the median counts.
// Goal: every command within 1.5× the baseline.
// The commands that compile the fleet take it from the fleet cache after their first start
// (CORE-005, start-up); the rows marked "compiled" run them with the cache turned off
// (NIXFLEET_NO_FLEET_CACHE=1), as on a first start or in a fresh checkout.
// Run: npm run build && node bench/startup.bench.mjs
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROUNDS = 25;
const GOAL = 1.5;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/nixfleet.js');

const dir = mkdtempSync(join(tmpdir(), 'nixfleet-startup-'));
cpSync(join(root, 'fleet.yaml'), join(dir, 'fleet.yaml'));
// One small run so that `runs` and `show` read a real journal.
spawnSync(process.execPath, [bin, 'apply', '--renderer', 'plain'], { cwd: dir, encoding: 'utf8' });

const cases = {
  '--help': ['--help'],
  validate: ['validate'],
  plan: ['plan'],
  list: ['list'],
  runs: ['runs'],
  show: ['show', 'r1'],
  'validate, compiled': ['validate'],
  'plan, compiled': ['plan'],
  'list, compiled': ['list'],
};
const NO_CACHE = { ...process.env, NIXFLEET_NO_FLEET_CACHE: '1' };

function timeOnce(args, env = process.env) {
  const start = process.hrtime.bigint();
  const result = spawnSync(process.execPath, args, { cwd: dir, encoding: 'utf8', env });
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  return { ms, status: result.status, stderr: result.stderr };
}

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
};

console.log(
  `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}, ${ROUNDS} rounds, median`,
);
const baseline = [];
const samples = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));
for (let round = 0; round < ROUNDS; round++) {
  baseline.push(timeOnce(['-e', '0']).ms);
  for (const [name, args] of Object.entries(cases)) {
    const result = timeOnce([bin, ...args], name.endsWith(', compiled') ? NO_CACHE : process.env);
    if (result.status !== 0 && !(name === 'show' && result.status === 1)) {
      console.error(`${name} exited ${result.status}: ${result.stderr}`);
      process.exitCode = 1;
    }
    samples[name].push(result.ms);
  }
}
const base = median(baseline);
console.log(`${'node -e 0'.padEnd(27)} ${base.toFixed(0).padStart(5)} ms  (baseline)`);
for (const [name, values] of Object.entries(samples)) {
  const ms = median(values);
  const ratio = ms / base;
  console.log(
    `${`nixfleet ${name}`.padEnd(27)} ${ms.toFixed(0).padStart(5)} ms  ${ratio.toFixed(2)}×  goal ${GOAL}×  ${ratio <= GOAL ? 'met' : 'MISSED'}`,
  );
}
rmSync(dir, { recursive: true, force: true });
