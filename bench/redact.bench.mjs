// What secret redaction costs per MB of command output, and whether that grows with the number of
// patterns (see CORE-010, redaction). The redactor runs on nixfleet's main thread: this is time
// the event loop is held. OUTPUT_MB of output goes through the streaming redactor in 64 KiB
// chunks, as a pipe delivers it; every 1,000th line is a line of the key, so there is something
// to redact, and the count of `***` is checked. Three outputs, each with its own key or value:
//   base64 output    random base64 lines; key: 1,563 base64 lines of 64 characters (100 KB, under
//                    the size limit); also a 50-line key (3 KB)
//   indented output  YAML-like lines indented 6 spaces; key: a 2,000-line file indented the same,
//                    so that all its line patterns begin alike
//   repeated output  lines of 999 `a`s; value: `aaaaaa`, found at every place, overlapping itself:
//                    one `***` per line (held from the first value found, a run like this was
//                    scanned again at every chunk, and took seconds per MB); printed, no goal:
//                    every place is a value there, where a key's lines are one in a thousand
// Baselines on the same output: no patterns (the redactor passes chunks through: a plain copy),
// and one single-line value. Cases are interleaved over REPEATS rounds; the median counts.
// Goal: each key costs under 100 ms of CPU per MB of output (it was 16 s and more per MB when
// every pattern was tried at every character).
// Run: npx tsc -p tsconfig.build.json && node bench/redact.bench.mjs (REPEATS=1 in the environment
// for one round)
import { randomBytes } from 'node:crypto';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const OUTPUT_MB = 4;
const CHUNK = 64 * 1024;
const REPEATS = Number(process.env.REPEATS ?? 5);
const GOAL_MS_PER_MB = 100;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { createRedactor, redactionPatterns, REDACTED } = await import(
  join(root, 'dist/engine/secrets/secret-redactor.js')
);

/** `count` base64 lines of 64 characters. */
const base64Lines = (count) =>
  randomBytes(count * 48)
    .toString('base64')
    .match(/.{64}/g);
const indentedLines = (count, name) =>
  Array.from({ length: count }, (_, n) => `      ${name}_${n}: ${randomBytes(12).toString('hex')}`);

/** About OUTPUT_MB of `line()`, with every 1,000th line one of `keyLines`, in 64 KiB chunks. */
function makeOutput(line, keyLines) {
  const lines = [];
  let printed = 0;
  for (let size = 0; size < OUTPUT_MB * 1024 * 1024; ) {
    const next = keyLines.length > 0 && lines.length % 1000 === 999 ? keyLines[printed++ % keyLines.length] : line();
    lines.push(next);
    size += next.length + 1;
  }
  const text = `${lines.join('\n')}\n`;
  const chunks = [];
  for (let at = 0; at < text.length; at += CHUNK) chunks.push(text.slice(at, at + CHUNK));
  return { text, chunks, printed };
}

const bigKey = base64Lines(1563);
const smallKey = base64Lines(50);
const yamlKey = indentedLines(2000, 'key');
const base64 = makeOutput(() => randomBytes(48).toString('base64'), bigKey);
// Lines of 999 `a`s: the value `aaaaaa` is found at every place of each, one `***` per line.
const repeated = makeOutput(() => 'a'.repeat(999), []);
const indented = makeOutput(() => indentedLines(1, 'field')[0], yamlKey);
const oneValue = redactionPatterns(['hunter2-deploy-token']);

const cases = [
  { output: 'base64', name: 'no patterns (baseline)', patterns: [], redactions: 0 },
  { output: 'base64', name: 'one value', patterns: oneValue, redactions: 0 },
  {
    output: 'base64',
    name: '50-line key',
    patterns: redactionPatterns([smallKey.join('\n')]),
    redactions: 0,
    goal: true,
  },
  {
    output: 'base64',
    name: '1,563-line key',
    patterns: redactionPatterns([bigKey.join('\n')]),
    redactions: base64.printed,
    goal: true,
  },
  { output: 'indented', name: 'no patterns (baseline)', patterns: [], redactions: 0 },
  { output: 'indented', name: 'one value', patterns: oneValue, redactions: 0 },
  {
    output: 'indented',
    name: '2,000-line indented key',
    patterns: redactionPatterns([yamlKey.join('\n')]),
    redactions: indented.printed,
    goal: true,
  },
  { output: 'repeated', name: 'no patterns (baseline)', patterns: [], redactions: 0 },
  { output: 'repeated', name: 'one value', patterns: oneValue, redactions: 0 },
  {
    output: 'repeated',
    name: '`aaaaaa` on every place',
    patterns: redactionPatterns(['aaaaaa']),
    redactions: repeated.text.split('\n').length - 1,
  },
];
const outputs = { base64, indented, repeated };

function measure({ chunks }, patterns) {
  const cpu = process.cpuUsage();
  const started = performance.now();
  const redactor = createRedactor(patterns);
  let out = '';
  for (const chunk of chunks) out += redactor.push(chunk);
  out += redactor.flush();
  const ms = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { ms, cpuMs: (used.user + used.system) / 1000, out };
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

const mb = (text) => (text.length / 1024 / 1024).toFixed(1);
console.log(
  `load average ${loadavg()
    .map((n) => n.toFixed(2))
    .join(' ')}; ${mb(base64.text)} MB each of base64, indented and repeated output, ` +
    `${CHUNK / 1024} KiB chunks; median of ${REPEATS}\n`,
);
const samples = cases.map(() => []);
for (let round = 0; round < REPEATS; round++) {
  cases.forEach((c, i) => {
    const output = outputs[c.output];
    const sample = measure(output, c.patterns);
    samples[i].push(sample);
    // The figures only count if the redaction is right.
    const redactions = sample.out.split(REDACTED).length - 1;
    if (redactions !== c.redactions || (redactions === 0 && sample.out !== output.text)) {
      throw new Error(`${c.output} output, ${c.name}: ${redactions} redactions, expected ${c.redactions}`);
    }
  });
}

const rows = cases.map((c, i) => ({
  ...c,
  ms: median(samples[i].map((s) => s.ms)),
  cpuMs: median(samples[i].map((s) => s.cpuMs)),
}));
const pad = (s, n) => String(s).padEnd(n);
// Ratios are of CPU time, which other work on a shared machine inflates less than wall time.
console.log(
  `${pad('output', 10)}${pad('patterns', 26)}${pad('count', 7)}${pad('wall ms', 10)}${pad('cpu ms', 10)}${pad('vs none', 10)}vs one value`,
);
let ok = true;
const summaries = [];
for (const r of rows) {
  const none = rows.find((o) => o.output === r.output && o.patterns.length === 0);
  const one = rows.find((o) => o.output === r.output && o.patterns === oneValue);
  const vsNone = none.cpuMs > 0 ? `${(r.cpuMs / none.cpuMs).toFixed(0)}×` : '-';
  const vsOne = r.cpuMs / one.cpuMs;
  const cells = [r.patterns.length, r.ms.toFixed(1), r.cpuMs.toFixed(1), vsNone, `${vsOne.toFixed(2)}×`];
  console.log(
    `${pad(r.output, 10)}${pad(r.name, 26)}${pad(cells[0], 7)}${pad(cells[1], 10)}${pad(cells[2], 10)}${pad(cells[3], 10)}${cells[4]}`,
  );
  if (r.goal || (r.output === 'repeated' && r.patterns.length > 0 && r.patterns !== oneValue)) {
    const perMb = (r.cpuMs * 1024 * 1024) / outputs[r.output].text.length;
    summaries.push(
      `${r.output} output, ${r.name}: ${perMb.toFixed(0)} ms of CPU per MB; ${vsOne.toFixed(2)}× one value ` +
        `(${one.cpuMs.toFixed(0)} ms), against ${none.cpuMs.toFixed(1)} ms with no patterns`,
    );
    if (r.goal) ok &&= perMb < GOAL_MS_PER_MB;
  }
}
console.log(`\n${summaries.join('\n')}`);
console.log(`goal: each key under ${GOAL_MS_PER_MB} ms of CPU per MB: ${ok ? 'met' : 'MISSED'}`);
process.exitCode = ok ? 0 : 1;
