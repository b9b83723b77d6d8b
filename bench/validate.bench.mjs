// How long `nixfleet validate` takes, and how much memory it needs, on a large fleet (see
// CORE-005): 2,000 hosts × 200 ops (plus 20 pipelines with selectors), generated here. Each case
// is a fresh `node` child whose own peak RSS (process.resourceUsage().maxRSS) is reported when it
// exits. Baselines measured in the same run: `node` starting and doing nothing, and the plain
// `yaml` package parsing the same file (no positions, schema or checks).
// Goals: validate < 1 s wall time and < 150 MB peak RSS, compiling the file (no data directory,
// so no fleet cache); the ratio to a bare `yaml.parse` shows what nixfleet adds to the parser. Then, with a data directory: the start that compiles and keeps the registry in
// the fleet cache (its entry deleted before each), and the one that takes it back (CORE-005).
// Run: npx tsc -p tsconfig.build.json && node bench/validate.bench.mjs
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HOSTS = 2000;
const OPS = 200;
const PIPELINES = 20;
const REPEATS = 3;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = join(root, 'bin/nixfleet.js');

function generateFleet() {
  const lines = ['version: 1', 'settings:', '  concurrency: 50', '  defaultPipeline: pipeline-0', 'hosts:'];
  for (let h = 0; h < HOSTS; h++) {
    const ssh = h % 2 === 0;
    lines.push(`  host-${h}:`);
    if (ssh) lines.push('    transport: ssh', `    address: 10.${(h >> 8) & 255}.${h & 255}.1`, '    user: deploy');
    lines.push(`    tags: [rack-${h % 40}, ${ssh ? 'remote' : 'local'}, tier-${h % 3}]`);
    lines.push(`    vars: { role: role-${h % 7}, region: eu-${h % 4}, release: "v${h % 13}" }`);
  }
  lines.push('ops:');
  for (let o = 0; o < OPS; o++) {
    lines.push(
      `  op-${o}:`,
      `    description: Operation number ${o}`,
      `    run: echo {{ host.name }} {{ host.vars.role }} {{ op.id }} && test -n {{ host.vars.release }}`,
      '    precheck: test -d /tmp',
      `    timeout: ${(o % 5) + 1}m`,
      `    retryable: ${o % 2 === 0}`,
      `    env: { REGION: "{{ host.vars.region }}", STEP: "${o}" }`,
    );
  }
  lines.push('pipelines:');
  for (let p = 0; p < PIPELINES; p++) {
    const ops = Array.from({ length: 10 }, (_, i) => `op-${(p * 10 + i) % OPS}`);
    lines.push(`  pipeline-${p}:`, `    ops: [${ops.join(', ')}]`, `    hosts: "@rack-${p},@tier-${p % 3},!host-${p}"`);
  }
  return `${lines.join('\n')}\n`;
}

// Runs `code` as an ES module in a fresh node, then reads the child's own peak RSS from fd 3.
function measure(code, args, before = () => {}) {
  before();
  const wrapped = `
import { writeSync } from 'node:fs';
process.on('exit', () => {
  const usage = process.resourceUsage();
  writeSync(3, JSON.stringify({ maxRssKb: usage.maxRSS, cpuUs: usage.userCPUTime + usage.systemCPUTime }));
});
${code}`;
  const started = performance.now();
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', wrapped, '--', ...args], {
    stdio: ['ignore', 'pipe', 'pipe', 'pipe'],
    maxBuffer: 64 * 1024 * 1024,
  });
  const ms = performance.now() - started;
  if (child.status !== 0) {
    throw new Error(`child failed (${child.status}): ${child.stderr.toString().slice(0, 2000)}`);
  }
  const { maxRssKb, cpuUs } = JSON.parse(child.output[3].toString());
  return { ms, cpuMs: cpuUs / 1000, mb: maxRssKb / 1024, stdout: child.stdout.toString() };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

function run(name, code, args, before) {
  const samples = Array.from({ length: REPEATS }, () => measure(code, args, before));
  return {
    name,
    ms: median(samples.map((s) => s.ms)),
    cpuMs: median(samples.map((s) => s.cpuMs)),
    mb: Math.max(...samples.map((s) => s.mb)),
    last: samples.at(-1),
  };
}

const dir = mkdtempSync(join(tmpdir(), 'nixfleet-bench-validate-'));
try {
  const file = join(dir, 'fleet.yaml');
  const text = generateFleet();
  writeFileSync(file, text);
  const kb = Math.round(Buffer.byteLength(text) / 1024);
  console.log(
    `fleet: ${HOSTS} hosts × ${OPS} ops, ${PIPELINES} pipelines, ${text.split('\n').length - 1} lines, ${kb} KiB`,
  );
  console.log(`each case: median wall time of ${REPEATS} fresh processes, highest peak RSS\n`);

  const startup = run('node startup (node -e 0)', '', []);
  const yamlParse = run(
    'yaml.parse of the file',
    `import { readFileSync } from 'node:fs'; import { parse } from ${JSON.stringify(join(root, 'node_modules/yaml/dist/index.js'))};
parse(readFileSync(process.argv[1], 'utf8'));`,
    [file],
  );
  const validateCode =
    () => `process.argv = [process.argv[0], ${JSON.stringify(bin)}, 'validate', '-f', process.argv[1]];
await import(${JSON.stringify(bin)});`;
  const validate = run('nixfleet validate', validateCode(), [file]);
  if (!validate.last.stdout.includes('valid (2000 hosts, 200 ops, 20 pipelines)')) {
    throw new Error(`validate did not accept the generated fleet:\n${validate.last.stdout}`);
  }

  mkdirSync(join(dir, '.nixfleet'));
  const entry = join(dir, '.nixfleet/fleet-cache.json');
  const keeping = run('validate, keeping the entry', validateCode(), [file], () => rmSync(entry, { force: true }));
  const cached = run('validate, from the cache', validateCode(), [file]);
  if (!cached.last.stdout.includes('valid (2000 hosts, 200 ops, 20 pipelines)')) {
    throw new Error(`validate from the cache said otherwise:\n${cached.last.stdout}`);
  }

  const rows = [startup, yamlParse, validate, keeping, cached];
  const pad = (s, n) => String(s).padEnd(n);
  console.log(
    `${pad('case', 28)}${pad('wall ms', 10)}${pad('cpu ms', 10)}${pad('peak RSS MB', 13)}wall vs node startup`,
  );
  for (const r of rows) {
    const cells = [r.ms.toFixed(0), r.cpuMs.toFixed(0), r.mb.toFixed(1)];
    console.log(
      `${pad(r.name, 28)}${pad(cells[0], 10)}${pad(cells[1], 10)}${pad(cells[2], 13)}${(r.ms / startup.ms).toFixed(1)}×`,
    );
  }
  console.log('');
  const timeRatio = (validate.ms / yamlParse.ms).toFixed(2);
  const cpuRatio = (validate.cpuMs / yamlParse.cpuMs).toFixed(2);
  const memoryRatio = (validate.mb / yamlParse.mb).toFixed(2);
  console.log(`validate / yaml.parse: ${timeRatio}× wall time, ${cpuRatio}× cpu time, ${memoryRatio}× memory`);
  // cpu time (user + system) is what a busy machine cannot inflate much; wall time is the target.
  console.log(`validate minus node startup: ${(validate.ms - startup.ms).toFixed(0)} ms`);
  const timeOk = validate.ms < 1000;
  const memoryOk = validate.mb < 150;
  console.log(`goals: < 1000 ms ${timeOk ? 'met' : 'MISSED'}, < 150 MB ${memoryOk ? 'met' : 'MISSED'}`);
  process.exitCode = timeOk && memoryOk ? 0 : 1;
} finally {
  rmSync(dir, { recursive: true, force: true });
}
