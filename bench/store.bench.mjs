// The two journal engines side by side (see CORE-003, CORE-012), in the same run on the same
// machine: transitions per second through Journal.transitionCommand, and `apply`'s fan-out of
// 300 local hosts x 3 no-op stages at concurrency 50, on SQLite and on PostgreSQL. Also the cost of
// the synchronous bridge: a one-row read through the journal (worker thread + Atomics.wait) against
// the same query awaited on a `pg` client on the main thread. Rounds alternate engines so load from
// the rest of the machine hits both alike; medians are reported.
// PostgreSQL: $NIXFLEET_BENCH_DATABASE_URL (an empty database), else a throwaway server started
// here (Debian's postgresql; run as root, like the tests). SQLite before this change: set
// $NIXFLEET_BENCH_BEFORE_DIST to an older build's dist/ to measure its transitions too.
// Run: npx tsc -p tsconfig.build.json && node bench/store.bench.mjs
import { execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { loadRegistry } from '../dist/config/load.js';
import { buildPlan } from '../dist/engine/plan.js';
import { startRun } from '../dist/engine/run.js';
import { openJournal } from '../dist/store/journal.js';

const ROUNDS = Number(process.env.ROUNDS ?? 3);
const HOSTS_PER_RUN = 100;
const TRANSITIONS = ['VALIDATING', 'EXECUTING', 'SUCCESS'];
const FAN_HOSTS = 300;
const FAN_STAGES = 3;
const CONCURRENCY = 50;
const READS = 2000;

function startPostgres() {
  const base = '/usr/lib/postgresql';
  const version = readdirSync(base).sort((a, b) => Number(b) - Number(a))[0];
  const bin = join(base, version, 'bin');
  const dir = mkdtempSync(join(tmpdir(), 'nixfleet-bench-pg-'));
  const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }));
  const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }));
  chownSync(dir, uid, gid);
  const as = (program, args) => ['runuser', ['-u', 'postgres', '--', join(bin, program), ...args]];
  execFileSync(...as('initdb', ['-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync']), {
    stdio: 'ignore',
  });
  const port = 20000 + (process.pid % 20000);
  // Durable settings as a team's server would have them (fsync on): the figures include commits.
  const server = spawn(
    ...as('postgres', [
      '-D',
      join(dir, 'data'),
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      `unix_socket_directories=${dir}`,
    ]),
    { stdio: 'ignore' },
  );
  for (let i = 0; i < 300; i++) {
    try {
      execFileSync(join(bin, 'pg_isready'), ['-h', '127.0.0.1', '-p', String(port), '-q']);
      break;
    } catch {
      execFileSync('sleep', ['0.1']);
    }
  }
  const admin = (sql) =>
    execFileSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-qc', sql]);
  return {
    url: (db) => `postgres://postgres@127.0.0.1:${port}/${db}`,
    create(db) {
      admin(`CREATE DATABASE ${db}`);
      return this.url(db);
    },
    stop() {
      execFileSync(...as('pg_ctl', ['-D', join(dir, 'data'), '-m', 'immediate', '-w', 'stop']), { stdio: 'ignore' });
      server.kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function transitionsPerSecond(open, runs) {
  const journal = open();
  const hosts = Array.from({ length: HOSTS_PER_RUN }, (_, i) => `host-${i}`);
  let ms = 0;
  for (let r = 0; r < runs; r++) {
    const { run, commands } = journal.createRun({
      name: 'bench',
      targetKind: 'op',
      hosts,
      stages: ['noop'],
      commands: hosts.map((hostId) => ({ stage: 0, hostId, op: 'noop' })),
      registryHash: 'bench',
      actor: 'bench',
    });
    const t = performance.now();
    for (const to of TRANSITIONS) {
      for (const command of commands)
        journal.transitionCommand(command.id, to, to === 'SUCCESS' ? { exitCode: 0 } : {});
    }
    ms += performance.now() - t;
    journal.finishRun(run.id, 'COMPLETE');
  }
  journal.close();
  return (runs * HOSTS_PER_RUN * TRANSITIONS.length) / (ms / 1000);
}

function fleetYaml() {
  const hosts = Array.from({ length: FAN_HOSTS }, (_, i) => `  h${i}: {}`).join('\n');
  const ops = Array.from({ length: FAN_STAGES }, (_, i) => `  s${i}:\n    run: "true"`).join('\n');
  const stages = Array.from({ length: FAN_STAGES }, (_, i) => `s${i}`).join(', ');
  return `version: 1\nsettings: { concurrency: ${CONCURRENCY} }\nhosts:\n${hosts}\nops:\n${ops}\npipelines:\n  bench: { ops: [${stages}] }\n`;
}

async function fanOut(root, store) {
  const dir = mkdtempSync(join(root, 'fleet-'));
  writeFileSync(join(dir, 'fleet.yaml'), fleetYaml());
  const registry = await loadRegistry(join(dir, 'fleet.yaml'));
  const plan = buildPlan(registry, 'bench', undefined);
  const started = performance.now();
  const journal = openJournal(registry.settings.dataDir, store ? { store } : {});
  const run = await startRun(plan, { journal, actor: 'bench', concurrency: CONCURRENCY });
  const outcome = await run.done;
  const ms = performance.now() - started;
  const ok = journal.listCommands({ runId: run.runId, limit: 10_000 }).filter((c) => c.status === 'SUCCESS').length;
  journal.close();
  if (outcome.status !== 'COMPLETE' || ok !== FAN_HOSTS * FAN_STAGES)
    throw new Error(`fan-out ended ${outcome.status}`);
  return ms;
}

async function bridgeCost(url) {
  const journal = openJournal(mkdtempSync(join(tmpdir(), 'nixfleet-bench-bridge-')), { store: url });
  let t = performance.now();
  for (let i = 0; i < READS; i++) journal.version();
  const viaJournal = (performance.now() - t) / READS;
  journal.close();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  t = performance.now();
  for (let i = 0; i < READS; i++) await client.query("SELECT value::bigint AS v FROM meta WHERE key = 'change_head'");
  const direct = (performance.now() - t) / READS;
  await client.end();
  return { viaJournal, direct };
}

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const root = mkdtempSync(join(tmpdir(), 'nixfleet-store-bench-'));
const server = process.env.NIXFLEET_BENCH_DATABASE_URL ? undefined : startPostgres();
let databases = 0;
const freshUrl = () => (server ? server.create(`bench_${databases++}`) : process.env.NIXFLEET_BENCH_DATABASE_URL);
const before = process.env.NIXFLEET_BENCH_BEFORE_DIST;
const openBefore =
  before && existsSync(join(before, 'store/journal.js'))
    ? (await import(join(before, 'store/journal.js'))).openJournal
    : undefined;
try {
  const results = { sqlite: [], sqliteBefore: [], postgres: [], fanSqlite: [], fanPostgres: [] };
  for (let round = 0; round < ROUNDS; round++) {
    // Before and after swap places every round: whichever runs first follows the previous
    // round's PostgreSQL work (the server's background writes), and neither side should get that.
    const sides = [
      () => results.sqlite.push(transitionsPerSecond(() => openJournal(mkdtempSync(join(root, 'sqlite-'))), 30)),
      () =>
        openBefore &&
        results.sqliteBefore.push(transitionsPerSecond(() => openBefore(mkdtempSync(join(root, 'before-'))), 30)),
    ];
    for (const side of round % 2 === 0 ? sides : sides.reverse()) side();
    results.postgres.push(
      transitionsPerSecond(() => openJournal(mkdtempSync(join(root, 'pgdata-')), { store: freshUrl() }), 10),
    );
    results.fanSqlite.push(await fanOut(root));
    results.fanPostgres.push(await fanOut(root, freshUrl()));
  }
  const bridge = await bridgeCost(freshUrl());
  const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
  console.log(`median of ${ROUNDS} round(s); load average ${load}`);
  const rows = [
    {
      engine: 'SQLite',
      'transitions/s': Math.round(median(results.sqlite)),
      [`${FAN_HOSTS}x${FAN_STAGES} apply ms`]: Math.round(median(results.fanSqlite)),
    },
  ];
  if (openBefore)
    rows.push({
      engine: 'SQLite before (NIXFLEET_BENCH_BEFORE_DIST)',
      'transitions/s': Math.round(median(results.sqliteBefore)),
    });
  rows.push({
    engine: 'PostgreSQL',
    'transitions/s': Math.round(median(results.postgres)),
    [`${FAN_HOSTS}x${FAN_STAGES} apply ms`]: Math.round(median(results.fanPostgres)),
  });
  console.table(rows);
  console.log(
    `one-row read on PostgreSQL: ${bridge.viaJournal.toFixed(3)} ms through the synchronous journal, ${bridge.direct.toFixed(3)} ms awaited on pg directly`,
  );
  const ratio = (a, b) => (a / b).toFixed(2);
  console.log(
    `ratios: PostgreSQL / SQLite apply time ${ratio(median(results.fanPostgres), median(results.fanSqlite))}x, ` +
      `SQLite / PostgreSQL transitions per second ${ratio(median(results.sqlite), median(results.postgres))}x, ` +
      `journal bridge / pg directly ${ratio(bridge.viaJournal, bridge.direct)}x` +
      (openBefore ? `, SQLite now / before ${ratio(median(results.sqlite), median(results.sqliteBefore))}x` : ''),
  );
} finally {
  server?.stop();
  rmSync(root, { recursive: true, force: true });
}
