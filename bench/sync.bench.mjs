// State Sync fan-out (see CORE-004): 500 WebSocket clients stay connected to the sync server
// while another process writes a burst of 2,000 changes (events) to the journal. Reported: the
// delivery latency from the change's journal timestamp to its arrival at a client (p50/p99),
// and the server process's peak memory.
// Baseline, same run, same clients, same writer: a bare `ws` server with no journal. The writer
// makes the same 2,000 journal writes at the same pace and also pushes each resulting delta
// message straight to the bare server over a socket; the bare server broadcasts each with the
// usual loop of `client.send(text)` over every client. So the baseline has no polling, no
// journal reads and the simplest fan-out: the difference is what State Sync costs.
// Clients: 20 sampling clients read every message as a browser does: they offer
// permessage-deflate, and inflate and parse each message as its last frame arrives (a browser
// inflates in its network stack, synchronously); they check the versions are contiguous. The
// other 480 are raw sockets that do the handshake and read every byte without parsing, so the
// clients' own CPU (one process for all 500) does not swamp what is measured: the server's fan-out.
// Options: BENCH_ONLY=nixfleet skips the baseline; BENCH_PROFILE=dir writes the server's CPU
// profile; BENCH_TRACE=1 prints, per batch, how late the server read it, how long its writes
// took and when the samplers got it; BENCH_POLL_MS sets the server's poll period;
// BENCH_SAMPLERS=ws makes the samplers `ws` clients, which inflate asynchronously on libuv's
// thread pool, and BENCH_SAMPLERS=plain `ws` clients that offer no permessage-deflate (CORE-004,
// "Measured", says what each costs).
// Run: npx tsc -p tsconfig.build.json && node bench/sync.bench.mjs
import { fork, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants, inflateRawSync } from 'node:zlib';
import { WebSocket, WebSocketServer } from 'ws';

const CLIENTS = 500;
const SAMPLERS = 20;
const CHANGES = 2000;
/** Each side gets this long to deliver the burst; what arrived by then is reported. */
const DEADLINE_MS = 30_000;
const TOKEN = 'bench-token-0123456789abcdef';
const SELF = fileURLToPath(import.meta.url);
/** How the sampling clients read (see the header): raw (default), ws or plain. */
const SAMPLERS_MODE = process.env.BENCH_SAMPLERS ?? 'raw';
if (!['raw', 'ws', 'plain'].includes(SAMPLERS_MODE)) throw new Error('BENCH_SAMPLERS is raw, ws or plain');
const role = process.argv[2];

if (role === 'nixfleet-server') await nixfleetServer(process.argv[3]);
else if (role === 'bare-server') await bareServer();
else if (role === 'writer') await writer(process.argv[3], Number(process.argv[4]), process.argv[5]);
else await main();

// ---- roles running in their own processes ----

function trackPeakMemory() {
  // A server whose bench process died (timeout, Ctrl-C) goes with it.
  process.on('disconnect', () => process.exit(0));
  let peak = process.memoryUsage().rss;
  const timer = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 5);
  return {
    report: () => ({ peakRss: Math.max(peak, process.memoryUsage().rss) }),
    reset: () => {
      peak = process.memoryUsage().rss;
    },
    stop: () => clearInterval(timer),
  };
}

async function nixfleetServer(dataDir) {
  const { openJournal } = await import('../dist/store/journal.js');
  const { startSyncServer } = await import('../dist/sync/sync-server.js');
  const journal = openJournal(dataDir);
  const pollIntervalMs = process.env.BENCH_POLL_MS ? Number(process.env.BENCH_POLL_MS) : undefined;
  const server = await startSyncServer({
    journal,
    token: TOKEN,
    port: 0,
    beaconIntervalMs: 600_000,
    ...(pollIntervalMs === undefined ? {} : { pollIntervalMs }),
  });
  const memory = trackPeakMemory();
  if (process.env.BENCH_TRACE) {
    // Where the latency arises: at read time (journal -> server) or after (server -> client).
    const original = server.hub.broadcastChanges.bind(server.hub);
    const trace = [];
    server.hub.broadcastChanges = (changes) => {
      const t = Date.now();
      original(changes);
      const lag = changes.map((c) => t - (c.change.event?.timestamp ?? t));
      const done = Date.now();
      trace.push(
        `${changes.length} lagMax=${Math.max(...lag)} write=${done - t} last=${changes.at(-1).version} done=${done}`,
      );
    };
    process.on('exit', () => console.error(trace.join('\n')));
    setTimeout(() => console.error(trace.join('\n')), 20000).unref();
  }
  process.on('message', async (message) => {
    if (message === 'reset') memory.reset();
    if (message === 'report')
      process.send({ ...memory.report(), clients: server.hub.size, dropped: server.hub.droppedCount });
    if (message === 'exit') {
      memory.stop();
      await server.close();
      journal.close();
      process.exit(0);
    }
  });
  process.send({ port: server.port, version: journal.version() });
}

async function bareServer() {
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' });
  await new Promise((resolve) => wss.once('listening', resolve));
  const memory = trackPeakMemory();
  const publishers = new Set();
  wss.on('connection', (ws, req) => {
    if (!req.url?.startsWith('/publish')) return;
    publishers.add(ws);
    ws.on('message', (data) => {
      const text = data.toString();
      for (const client of wss.clients) if (!publishers.has(client)) client.send(text);
    });
  });
  process.on('message', (message) => {
    if (message === 'reset') memory.reset();
    if (message === 'report') {
      process.send({ ...memory.report(), clients: wss.clients.size - publishers.size, dropped: 0 });
    }
    if (message === 'exit') {
      memory.stop();
      for (const ws of wss.clients) ws.terminate();
      wss.close(() => process.exit(0));
    }
  });
  process.send({ port: wss.address().port });
}

async function writer(dataDir, count, relayPort) {
  const { openJournal } = await import('../dist/store/journal.js');
  const journal = openJournal(dataDir);
  let relay;
  if (relayPort) {
    relay = new WebSocket(`ws://127.0.0.1:${relayPort}/publish`);
    await new Promise((resolve, reject) => relay.once('open', resolve).once('error', reject));
  }
  for (let i = 1; i <= count; i++) {
    const event = journal.logEvent({
      category: 'bench',
      level: 'info',
      actor: 'bench',
      action: 'tick',
      message: `tick ${i} of the burst, about as long as a real event message`,
    });
    relay?.send(JSON.stringify({ type: 'delta', version: i, change: { type: 'event', event } }));
  }
  journal.close();
  if (relay) {
    await new Promise((resolve) => {
      relay.once('close', resolve);
      relay.close();
    });
  }
}

// ---- the measuring side ----

function sampler(port, received, expectsInit) {
  return SAMPLERS_MODE === 'raw' ? rawSampler(port, received, expectsInit) : wsSampler(port, received, expectsInit);
}

/** What a sampling client does with each message, however it decoded it. */
function onSampledMessage(state, text, at, resolve) {
  const message = JSON.parse(text);
  if (message.type === 'init') {
    state.version = message.version;
    resolve(state);
    return;
  }
  // nixfleet sends one `deltas` message per batch (protocol 2); the baseline one `delta` each.
  const deltas = message.type === 'deltas' ? message.changes : message.type === 'delta' ? [message] : [];
  if (deltas.length > 0) state.arrivals.push([deltas.at(-1).version, at, Date.now() - at]);
  for (const delta of deltas) {
    if (state.version !== null && delta.version !== state.version + 1) state.contiguous = false;
    if (state.version === null && delta.version !== 1) state.contiguous = false;
    state.version = delta.version;
    state.latencies.push(at - delta.change.event.timestamp);
    state.received();
  }
}

/**
 * A sampling client as a browser is one: it offers permessage-deflate and inflates each message
 * synchronously as its frame completes (a browser does this in its network stack). The server
 * negotiates server_no_context_takeover, so every message inflates on its own.
 */
function rawSampler(port, received, expectsInit) {
  return new Promise((resolve, reject) => {
    const state = { version: null, latencies: [], contiguous: true, arrivals: [], received };
    let buffer = Buffer.alloc(0);
    let upgraded = false;
    let fragments = [];
    let compressed = false;
    const socket = connect(port, '127.0.0.1', () => {
      socket.setNoDelay(true);
      socket.write(upgradeRequest(port));
    });
    state.close = () => socket.destroy();
    socket.once('error', reject);
    socket.on('data', (chunk) => {
      const at = Date.now();
      buffer = Buffer.concat([buffer, chunk]);
      if (!upgraded) {
        const end = buffer.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buffer.toString('latin1', 0, end);
        if (!head.startsWith('HTTP/1.1 101')) return reject(new Error(`refused: ${head.split('\r\n')[0]}`));
        const extensions = /^sec-websocket-extensions:(.*)$/im.exec(head)?.[1] ?? '';
        if (extensions.includes('permessage-deflate') && !extensions.includes('server_no_context_takeover'))
          return reject(new Error('the server keeps its deflate context; this sampler cannot follow it'));
        upgraded = true;
        buffer = buffer.subarray(end + 4);
        if (!expectsInit) resolve(state);
      }
      while (buffer.length >= 2) {
        const first = buffer[0];
        let length = buffer[1] & 0x7f;
        let offset = 2;
        if (length === 126) {
          if (buffer.length < 4) return;
          length = buffer.readUInt16BE(2);
          offset = 4;
        } else if (length === 127) {
          if (buffer.length < 10) return;
          length = Number(buffer.readBigUInt64BE(2));
          offset = 10;
        }
        if (buffer.length < offset + length) return;
        const payload = buffer.subarray(offset, offset + length);
        buffer = buffer.subarray(offset + length);
        const opcode = first & 0x0f;
        if (opcode === 8) return socket.destroy();
        if (opcode !== 0 && opcode !== 1) continue;
        if (opcode === 1) compressed = (first & 0x40) !== 0;
        fragments.push(payload);
        if ((first & 0x80) === 0) continue;
        const whole = Buffer.concat(fragments);
        fragments = [];
        const text = compressed
          ? inflateRawSync(Buffer.concat([whole, Buffer.from([0, 0, 0xff, 0xff])]), {
              finishFlush: constants.Z_SYNC_FLUSH,
            }).toString('utf8')
          : whole.toString('utf8');
        onSampledMessage(state, text, at, resolve);
      }
    });
  });
}

/** A `ws` client (BENCH_SAMPLERS=ws, or =plain to offer no compression). */
function wsSampler(port, received, expectsInit) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(
      `ws://127.0.0.1:${port}/ws?token=${TOKEN}&protocol=2`,
      SAMPLERS_MODE === 'plain' ? { perMessageDeflate: false } : {},
    );
    const state = {
      version: null,
      latencies: [],
      contiguous: true,
      arrivals: [],
      received,
      close: () => ws.terminate(),
    };
    ws.on('message', (data) => onSampledMessage(state, data, Date.now(), resolve));
    ws.on('open', () => {
      // The bare server sends no init: the connection itself is the start.
      if (!expectsInit) resolve(state);
    });
    ws.once('error', reject);
  });
}

/** The raw clients' WebSocket upgrade, offering permessage-deflate as browsers do. */
function upgradeRequest(port) {
  return (
    `GET /ws?token=${TOKEN}&protocol=2 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
    'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n'
  );
}

function drainer(port) {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(upgradeRequest(port));
    });
    const state = { socket, bytes: 0 };
    socket.on('data', (chunk) => {
      if (state.bytes === 0 && !chunk.toString('latin1', 0, 12).startsWith('HTTP/1.1 101'))
        reject(new Error('refused'));
      state.bytes += chunk.length;
      resolve(state);
    });
    socket.once('error', reject);
  });
}

async function measure(name, startServer, triggerBurst, expectsInit) {
  const t0 = performance.now();
  const log = (...a) =>
    process.env.BENCH_DEBUG && console.error(`${((performance.now() - t0) / 1000).toFixed(1)}s`, name, ...a);
  const { child, port } = await startServer();
  const ask = (message) => new Promise((resolve) => child.once('message', resolve) && child.send(message));
  let pending = SAMPLERS * CHANGES;
  let done;
  const allReceived = new Promise((resolve) => {
    done = resolve;
  });
  const received = () => {
    pending -= 1;
    if (pending === 0) done();
  };
  const samplers = [];
  const drainers = [];
  log('server up', port);
  samplers.push(...(await Promise.all(Array.from({ length: SAMPLERS }, () => sampler(port, received, expectsInit)))));
  log('samplers');
  // In groups of 60, so the server's accept queue is never the bottleneck of the setup.
  for (let i = 0; i < CLIENTS - SAMPLERS; i += 60) {
    const group = Math.min(60, CLIENTS - SAMPLERS - i);
    drainers.push(...(await Promise.all(Array.from({ length: group }, () => drainer(port)))));
  }
  log('drainers');
  await new Promise((resolve) => setTimeout(resolve, 300));
  const idle = await ask('report');
  child.send('reset');
  const started = performance.now();
  const writing = triggerBurst(port);
  writing.catch(() => {});
  let timer;
  const timeout = new Promise((resolve) => {
    timer = setTimeout(resolve, DEADLINE_MS);
  });
  const progress = setInterval(() => log('pending', pending), 1000);
  await Promise.race([allReceived, timeout]);
  clearTimeout(timer);
  clearInterval(progress);
  const deliveredMs = pending === 0 ? performance.now() - started : null;
  const writeMs = await Promise.race([writing, timeout.then(() => null)]);
  // Clients go first: a server still busy with a backlog must not keep the bench waiting.
  for (const s of samplers) s.close();
  for (const d of drainers) d.socket.destroy();
  const peak = await Promise.race([ask('report'), new Promise((resolve) => setTimeout(() => resolve({}), 15_000))]);
  // Gone before the data directory is removed, or its journal check reports the deletion.
  const exited = new Promise((resolve) => {
    child.once('exit', resolve);
    setTimeout(resolve, 5_000).unref();
  });
  child.send('exit');
  await exited;
  if (process.env.BENCH_TRACE) {
    // Per batch (by its last version): when the samplers got it, and how long parsing took.
    const byLast = new Map();
    for (const s of samplers)
      for (const [v, at, parse] of s.arrivals) byLast.set(v, [...(byLast.get(v) ?? []), [at, parse]]);
    for (const [v, list] of byLast) {
      const ats = list.map((x) => x[0]);
      console.error(
        `sampled last=${v} first=${Math.min(...ats)} lastAt=${Math.max(...ats)} parse=${Math.max(...list.map((x) => x[1]))}`,
      );
    }
  }
  const latencies = samplers.flatMap((s) => s.latencies).sort((a, b) => a - b);
  const pct = (p) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))];
  return {
    name,
    clients: idle.clients,
    p50: pct(50),
    p99: pct(99),
    max: latencies.at(-1),
    deliveredMs,
    writeMs,
    idleRssMb: idle.peakRss / 2 ** 20,
    peakRssMb: peak.peakRss === undefined ? null : peak.peakRss / 2 ** 20,
    contiguous: samplers.every((s) => s.contiguous),
    delivered: `${((1 - pending / (SAMPLERS * CHANGES)) * 100).toFixed(0)}%`,
    dropped: peak.dropped ?? '?',
  };
}

function startChild(args) {
  // BENCH_PROFILE=dir writes the server's CPU profile there (NODE_OPTIONS cannot carry --cpu-prof).
  const execArgv = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
  const child = fork(SELF, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'], execArgv });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, port: message.port }));
    child.once('error', reject);
  });
}

/** Runs the writer process; resolves with how long its writes took, start to exit. */
function runWriter(dataDir, relayPort) {
  return new Promise((resolve, reject) => {
    const started = performance.now();
    const args = [SELF, 'writer', dataDir, String(CHANGES), ...(relayPort ? [String(relayPort)] : [])];
    const child = spawn(process.execPath, args, { stdio: 'inherit' });
    child.once('error', reject);
    child.once('exit', (code) =>
      code === 0 ? resolve(performance.now() - started) : reject(new Error(`writer: ${code}`)),
    );
  });
}

async function main() {
  const ourDir = mkdtempSync(join(tmpdir(), 'nixfleet-sync-bench-'));
  const bareDir = mkdtempSync(join(tmpdir(), 'nixfleet-sync-bench-bare-'));
  try {
    const nixfleet = await measure(
      'nixfleet serve (journal tail)',
      () => startChild(['nixfleet-server', ourDir]),
      () => runWriter(ourDir),
      true,
    );
    if (process.env.BENCH_ONLY === 'nixfleet') return print([nixfleet]);
    const bare = await measure(
      'bare ws broadcast (no journal)',
      () => startChild(['bare-server']),
      (port) => runWriter(bareDir, port),
      false,
    );
    print([nixfleet, bare]);
  } finally {
    rmSync(ourDir, { recursive: true, force: true });
    rmSync(bareDir, { recursive: true, force: true });
  }
}

function print(rows) {
  const f = (n) =>
    n === null ? `>${DEADLINE_MS / 1000}s` : typeof n === 'number' ? n.toFixed(n < 10 ? 1 : 0) : String(n);
  console.log(`\n${CLIENTS} clients, burst of ${CHANGES} changes (latency: journal timestamp -> client, ms)`);
  console.log(
    `latencies over what arrived within ${DEADLINE_MS / 1000}s; ${SAMPLERS} clients sample, ${CLIENTS - SAMPLERS} drain raw\n`,
  );
  const header = [
    'server',
    'clients',
    'p50 ms',
    'p99 ms',
    'max ms',
    'writer ms',
    'delivered ms',
    'idle RSS MB',
    'peak RSS MB',
    'in order',
    'delivered',
    'dropped',
  ];
  const table = rows.map((r) => [
    r.name,
    r.clients,
    r.p50,
    r.p99,
    r.max,
    r.writeMs,
    r.deliveredMs,
    r.idleRssMb,
    r.peakRssMb,
    r.contiguous ? 'yes' : 'NO',
    r.delivered,
    r.dropped,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => f(row[i]).length)));
  const line = (cells) => cells.map((c, i) => (i === 0 ? f(c).padEnd(widths[i]) : f(c).padStart(widths[i]))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  const [ours, base] = rows;
  if (!base) return;
  console.log(
    `\nratio nixfleet / bare ws: p50 ${f(ours.p50 / Math.max(1, base.p50))}x, p99 ${f(ours.p99 / Math.max(1, base.p99))}x, ` +
      `peak RSS ${f(ours.peakRssMb / base.peakRssMb)}x; target p99 < 100 ms: ${ours.p99 < 100 ? 'met' : 'NOT met'}`,
  );
}
