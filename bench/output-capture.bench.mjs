// What capturing a command's output costs per chunk on nixfleet's main thread (see CORE-001,
// output): the steps each chunk goes through between a transport and the log file plus the shown
// text, as they are now (the bytes kept, decoded only for showing) and as they were (decoded as
// UTF-8 on the way in, encoded again by the file's stream). Ordinary output: ASCII build-log lines,
// one line (80 B) and a pipe's 64 KiB per chunk; with and without a secret to redact. The journal
// and the file are left out (the same either way): the sink counts bytes.
// Run: npx tsc -p tsconfig.build.json && node bench/output-capture.bench.mjs
import { StringDecoder } from 'node:string_decoder';
import { bytePatterns, createRedactor, redactionPatterns } from '../dist/engine/secrets/secret-redactor.js';

const line = 'building /nix/store/abc123-some-package-1.2.3.drv ... ok [42/100] 0.53s elapsed\n';
const sizes = { '80 B': line, '64 KiB': line.repeat(Math.ceil(65536 / line.length)).slice(0, 65536) };
const patterns = redactionPatterns(['Tok3n-Abcdef-0123456789']);
const inBytes = bytePatterns(patterns);
let sinkBytes = 0,
  shown = 0;
const sinkString = (s) => {
  sinkBytes += Buffer.from(s, 'utf8').length;
}; // what fs.WriteStream does with a string
const sinkBuffer = (b) => {
  sinkBytes += b.length;
};
function run(fn, chunk, n) {
  for (let i = 0; i < n / 10; i++) fn(chunk);
  const runs = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < n; i++) fn(chunk);
    runs.push(Number(process.hrtime.bigint() - t) / n);
  }
  runs.sort((a, b) => a - b);
  return runs[2];
}
/** Each path's ns per chunk; a `… now` path also its ratio to its `… before` (the baseline). */
function report(size, paths, buf, n) {
  const before = new Map();
  for (const [name, fn] of Object.entries(paths)) {
    const ns = run(fn, buf, n);
    const path = name.replace(/\s+(before|now)$/, '');
    let ratio = '';
    if (name.endsWith('before')) before.set(path, ns);
    else ratio = `  now/before ${(ns / before.get(path)).toFixed(2)}`;
    console.log(`${size.padEnd(7)} ${name}  ${ns.toFixed(0).padStart(8)} ns/chunk${ratio}`);
  }
}
for (const [size, text] of Object.entries(sizes)) {
  const buf = Buffer.from(text);
  const n = size === '80 B' ? 400_000 : 4_000;
  const beforeDec = new StringDecoder('utf8');
  const nowDec = new StringDecoder('utf8');
  const beforeRed = createRedactor(patterns);
  const nowRed = createRedactor(inBytes);
  const paths = {
    // Perl/Python spawner, no secret: frame-link decoded, the sink encoded again.
    'frame, no secret  before': (b) => {
      const s = beforeDec.write(b);
      sinkString(s);
      shown += s.length;
    },
    'frame, no secret  now': (b) => {
      sinkBuffer(b);
      shown += nowDec.write(b).length;
    },
    // with a secret to redact
    'frame, secret     before': (b) => {
      const s = beforeRed.push(beforeDec.write(b));
      sinkString(s);
      shown += s.length;
    },
    'frame, secret     now': (b) => {
      const s = b.toString('latin1');
      const safe = nowRed.push(s);
      const bytes = safe === s ? b : Buffer.from(safe, 'latin1');
      sinkBuffer(bytes);
      shown += nowDec.write(bytes).length;
    },
    // ssh stdout, no secret: setEncoding('utf8') before; the Buffer as it comes now.
    'ssh, no secret    before': (b) => {
      const s = beforeDec.write(b);
      sinkString(s);
      shown += s.length;
    },
    'ssh, no secret    now': (b) => {
      sinkBuffer(b);
      shown += nowDec.write(b).length;
    },
  };
  report(size, paths, buf, n);
}
// Node spawner: the spawner decodes, JSON over IPC both ways; now latin1 there and bytes again here.
for (const [size, text] of Object.entries(sizes)) {
  const buf = Buffer.from(text);
  const n = size === '80 B' ? 200_000 : 2_000;
  const beforeDec = new StringDecoder('utf8');
  const nowDec = new StringDecoder('utf8');
  const latin = new StringDecoder('latin1');
  const paths = {
    'node spawner, no secret before': (b) => {
      const s = JSON.parse(JSON.stringify({ t: 'out', id: 1, chunk: beforeDec.write(b) })).chunk;
      sinkString(s);
      shown += s.length;
    },
    'node spawner, no secret now': (b) => {
      const s = JSON.parse(JSON.stringify({ t: 'out', id: 1, chunk: latin.write(b) })).chunk;
      const bytes = Buffer.from(s, 'latin1');
      sinkBuffer(bytes);
      shown += nowDec.write(bytes).length;
    },
  };
  report(size, paths, buf, n);
}
// Kept so that no step above is optimised away.
if (sinkBytes + shown === 0) console.log('nothing captured');
