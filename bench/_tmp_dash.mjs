// The dashboard with a big fleet (see CORE-004, "The page"): 3,000 hosts and a run over all of
// them (two stages, 6,000 commands) are open in the real page in headless chromium; then one
// command changes at a time. Reported, measured IN the page by its own User Timing entries
// (app.js): `nixfleet:apply` (parse + take the message into the model) and `nixfleet:render`
// (draw the model), per delta. Each delta is one `deltas` message with one change.
// Baseline, same page, same fleet: the same visible update written directly: the one host row's
// "now" cell and the one grid cell replaced by hand with performance.now() around it, which is
// the least any renderer must do for that change. The page draws its tables a window at a time
// (windowed-rows.js), so both change rows near the top, which are in the window.
// BENCH_WIDTH=390 measures the page as a phone shows it: the host list (not windowed) instead of
// the host table.
// Run: npx tsc -p tsconfig.build.json && node bench/dashboard.bench.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

const HOSTS = 3000;
const DELTAS = Number(process.env.D ?? 40);
const TOKEN = 'bench-token-0123456789abcdef';

const { openJournal } = await import('../dist/store/journal.js');
const { startSyncServer } = await import('../dist/sync/sync-server.js');

const dir = mkdtempSync(join(tmpdir(), 'nixfleet-dashboard-bench-'));
const journal = openJournal(dir);
const hosts = Array.from({ length: HOSTS }, (_, i) => `h${String(i).padStart(4, '0')}`);
journal.syncHosts(hosts.map((id) => ({ id, hostname: id, transport: 'local', tags: ['bench'] })));
const { commands } = journal.createRun({
  name: 'deploy',
  targetKind: 'pipeline',
  hosts,
  stages: ['pull', 'switch'],
  commands: ['pull', 'switch'].flatMap((op, stage) => hosts.map((hostId) => ({ stage, hostId, op }))),
  registryHash: 'bench',
  actor: 'bench',
});
const server = await startSyncServer({ journal, token: TOKEN, port: 0, beaconIntervalMs: 600_000 });
const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: Number(process.env.BENCH_WIDTH ?? 1440), height: 900 } });
  await page.addInitScript(() => {
    window.__timings = [];
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) {
        if (entry.name.startsWith('nixfleet:')) {
          window.__timings.push({ name: entry.name, ms: entry.duration, version: entry.detail?.version });
        }
      }
    }).observe({ entryTypes: ['measure'] });
    // Up to the frame that shows it: a render's start to the end of the next frame's style,
    // layout and paint (a timeout queued from requestAnimationFrame runs after them).
    const measure = performance.measure.bind(performance);
    performance.measure = (name, options) => {
      if (name === 'nixfleet:render') {
        const { start } = options;
        const version = options.detail?.version;
        requestAnimationFrame(() =>
          setTimeout(() => window.__timings.push({ name: 'frame', ms: performance.now() - start, version })),
        );
      }
      return measure(name, options);
    };
  });
  await page.goto(`${server.url}?token=${TOKEN}`);
  await page.waitForSelector('#connection[data-state="live"]', { timeout: 60_000 });
  // The tables are drawn a window at a time (windowed-rows.js): the first host's row is there.
  await page.waitForFunction(() => document.querySelector('#grid tr[data-host="h0000"]') !== null, null, {
    timeout: 60_000,
  });
  const drawnRows = await page.evaluate(() => document.querySelectorAll('#hosts tbody tr, #grid tbody tr').length);
  const initial = await page.evaluate(() => window.__timings.splice(0));
  const initRender = Math.max(...initial.filter((t) => t.name === 'nixfleet:render').map((t) => t.ms));
  // BENCH_PROFILE=file.cpuprofile: the page's CPU profile over the deltas (Chrome DevTools format).
  const cdp = process.env.BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
  if (cdp) {
    await cdp.send('Profiler.enable');
    await cdp.send('Profiler.setSamplingInterval', { interval: 100 });
    await cdp.send('Profiler.start');
  }
  // BENCH_TRACE=file.json: a DevTools trace over the deltas, and the renderer's main-thread time per
  // delta in the browser's own phases (style, layout, paint) printed at the end.
  if (process.env.BENCH_TRACE) {
    await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline'] });
  }

  // One change at a time: the next only after the page has drawn the previous one.
  const apply = [];
  const render = [];
  const frame = [];
  for (let i = 0; i < DELTAS; i++) {
    journal.transitionCommand(commands[i].id, 'VALIDATING');
    const version = journal.version();
    await page.waitForFunction((v) => window.__timings.some((t) => t.name === 'frame' && t.version >= v), version, {
      timeout: 30_000,
      polling: 5,
    });
    const timings = await page.evaluate(() => window.__timings.splice(0));
    apply.push(timings.filter((t) => t.name === 'nixfleet:apply').reduce((sum, t) => sum + t.ms, 0));
    render.push(timings.filter((t) => t.name === 'nixfleet:render').reduce((sum, t) => sum + t.ms, 0));
    frame.push(timings.filter((t) => t.name === 'frame').reduce((sum, t) => sum + t.ms, 0));
  }

  if (process.env.BENCH_TRACE) {
    const trace = await browser.stopTracing();
    (await import('node:fs')).writeFileSync(process.env.BENCH_TRACE, trace);
    printPhases(JSON.parse(trace.toString()).traceEvents, DELTAS);
  }
  if (cdp) {
    const { profile } = await cdp.send('Profiler.stop');
    (await import('node:fs')).writeFileSync(process.env.BENCH_PROFILE, JSON.stringify(profile));
  }
  // The same visible change by hand, timed the same two ways.
  const direct = [];
  const directFrame = [];
  // Hosts h0040-h0079: in the page's window (about the first hundred rows) as the deltas' were.
  for (const command of commands.slice(DELTAS, 2 * DELTAS)) {
    const [ms, frameMs] = await page.evaluate(
      (c) =>
        new Promise((resolve) => {
          const started = performance.now();
          const hostRow = document.querySelector(`#hosts tr[data-host="${c.hostId}"]`);
          const chip = document.createElement('button');
          chip.className = 'status-chip';
          chip.type = 'button';
          chip.dataset.status = 'VALIDATING';
          chip.title = `${c.id} VALIDATING`;
          chip.textContent = `VALIDATING ${c.op}`;
          chip.addEventListener('click', () => {});
          hostRow.children[1].replaceChildren(chip);
          const cell = document.querySelector(`#grid td[data-command-id="${c.id}"]`);
          cell.dataset.status = 'VALIDATING';
          cell.children[0].textContent = 'VALIDATING';
          const ms = performance.now() - started;
          requestAnimationFrame(() => setTimeout(() => resolve([ms, performance.now() - started])));
        }),
      command,
    );
    direct.push(ms);
    directFrame.push(frameMs);
  }

  const stats = (xs) => {
    const s = [...xs].sort((a, b) => a - b);
    return { p50: s[Math.floor(s.length / 2)], p95: s[Math.min(s.length - 1, Math.floor(s.length * 0.95))] };
  };
  const total = apply.map((a, i) => a + render[i]);
  const f = (n) => n.toFixed(2).padStart(8);
  console.log(`\n${HOSTS} hosts, a run of ${HOSTS * 2} commands open; ${DELTAS} deltas of one change each`);
  console.log(`first render (init): ${initRender.toFixed(1)} ms; host and grid rows in the DOM: ${drawnRows}`);
  console.log('                                p50 ms   p95 ms');
  for (const [name, xs] of [
    ['apply (parse + model)', apply],
    ['render', render],
    ['apply + render', total],
    ['render start -> frame drawn', frame],
    ['baseline: direct DOM update', direct],
    ['baseline: update -> frame drawn', directFrame],
  ]) {
    const { p50, p95 } = stats(xs);
    console.log(`${name.padEnd(30)}${f(p50)} ${f(p95)}`);
  }
  const ours = stats(total);
  const oursFrame = stats(frame);
  const baseFrame = stats(directFrame);
  console.log(
    `\nratio to the frame, nixfleet / direct: p50 ${(oursFrame.p50 / baseFrame.p50).toFixed(2)}x; ` +
      `goal apply + render p50 < 16 ms: ${ours.p50 < 16 ? 'met' : 'NOT met'}, p95 < 16 ms: ${ours.p95 < 16 ? 'met' : 'NOT met'}`,
  );
} finally {
  await browser.close();
  await server.close();
  journal.close();
  rmSync(dir, { recursive: true, force: true });
}

/** Per delta, the main thread's time in the phases of drawing a frame, from a DevTools trace. */
function printPhases(events, deltas) {
  const main = events.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain');
  const phases = ['FunctionCall', 'UpdateLayoutTree', 'Layout', 'PrePaint', 'Paint', 'Layerize', 'Commit'];
  const sums = new Map(phases.map((name) => [name, 0]));
  for (const e of events) {
    if (e.ph === 'X' && main && e.pid === main.pid && e.tid === main.tid && sums.has(e.name)) {
      sums.set(e.name, sums.get(e.name) + e.dur / 1000);
    }
  }
  console.log('\nmain thread per delta (trace), ms:');
  for (const [name, ms] of sums) console.log(`  ${name.padEnd(18)}${(ms / deltas).toFixed(2).padStart(8)}`);
}
