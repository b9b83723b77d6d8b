// Cost of journaling a command's lifecycle (see CORE-003): 10,000 commands go
// PENDING -> VALIDATING -> EXECUTING -> SUCCESS through openJournal (each transition is one
// IMMEDIATE transaction: read, validate, update, append a change). The baseline, measured in the
// same run on the same disk with the same pragmas, is the bare minimum SQLite work: the same
// number of INSERT / UPDATE statements, each its own autocommit transaction, no change log.
// Run: npx tsc -p tsconfig.build.json && node bench/journal.bench.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { openJournal } from '../dist/store/journal.js';

const COMMANDS = 10_000;
const HOSTS_PER_RUN = 100;
const RUNS = COMMANDS / HOSTS_PER_RUN;
const TRANSITIONS = ['VALIDATING', 'EXECUTING', 'SUCCESS'];

function benchJournal(dir) {
  const journal = openJournal(dir);
  const hosts = Array.from({ length: HOSTS_PER_RUN }, (_, i) => `host-${i}`);
  let createMs = 0;
  let transitionMs = 0;
  let finishMs = 0;
  for (let r = 0; r < RUNS; r++) {
    let t = performance.now();
    const { run, commands } = journal.createRun({
      name: 'bench',
      targetKind: 'op',
      hosts,
      stages: ['noop'],
      commands: hosts.map((hostId) => ({ stage: 0, hostId, op: 'noop' })),
      registryHash: 'bench',
      actor: 'bench',
    });
    createMs += performance.now() - t;
    t = performance.now();
    for (const to of TRANSITIONS) {
      for (const command of commands)
        journal.transitionCommand(command.id, to, to === 'SUCCESS' ? { exitCode: 0 } : {});
    }
    transitionMs += performance.now() - t;
    t = performance.now();
    journal.finishRun(run.id, 'COMPLETE');
    finishMs += performance.now() - t;
  }
  const version = journal.version();
  journal.close();
  return { createMs, transitionMs, finishMs, version };
}

function benchBaseline(dir) {
  const db = new Database(join(dir, 'baseline.db'));
  db.pragma('busy_timeout = 5000');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.exec(`CREATE TABLE commands (id TEXT PRIMARY KEY, host_id TEXT NOT NULL, status TEXT NOT NULL,
    created_at INTEGER NOT NULL, started_at INTEGER, finished_at INTEGER, exit_code INTEGER)`);
  const insert = db.prepare("INSERT INTO commands (id, host_id, status, created_at) VALUES (?, ?, 'PENDING', ?)");
  const update = db.prepare(
    'UPDATE commands SET status = ?, started_at = ?, finished_at = ?, exit_code = ? WHERE id = ?',
  );
  let createMs = 0;
  let transitionMs = 0;
  for (let r = 0; r < RUNS; r++) {
    const ids = Array.from({ length: HOSTS_PER_RUN }, (_, i) => `c${r * HOSTS_PER_RUN + i}`);
    let t = performance.now();
    db.transaction(() => {
      for (const [i, id] of ids.entries()) insert.run(id, `host-${i}`, Date.now());
    })();
    createMs += performance.now() - t;
    t = performance.now();
    for (const to of TRANSITIONS) {
      for (const id of ids)
        update.run(to, Date.now(), to === 'SUCCESS' ? Date.now() : null, to === 'SUCCESS' ? 0 : null, id);
    }
    transitionMs += performance.now() - t;
  }
  db.close();
  return { createMs, transitionMs };
}

const dir = mkdtempSync(join(tmpdir(), 'nixfleet-bench-journal-'));
try {
  // A short warm-up so both sides run JIT-compiled code.
  benchJournal(mkdtempSync(join(dir, 'warm-')));
  const journal = benchJournal(mkdtempSync(join(dir, 'journal-')));
  const baseline = benchBaseline(mkdtempSync(join(dir, 'baseline-')));
  const transitions = COMMANDS * TRANSITIONS.length;
  const perJournal = journal.transitionMs / transitions;
  const perBaseline = baseline.transitionMs / transitions;
  const fmt = (n) => n.toFixed(4);
  console.log(`${COMMANDS} commands (${RUNS} runs x ${HOSTS_PER_RUN} hosts), ${transitions} transitions`);
  console.table([
    {
      what: 'journal.transitionCommand',
      'ms/transition': fmt(perJournal),
      'total ms': journal.transitionMs.toFixed(0),
      'createRun ms/command': fmt(journal.createMs / COMMANDS),
    },
    {
      what: 'raw better-sqlite3 UPDATE (no change log)',
      'ms/transition': fmt(perBaseline),
      'total ms': baseline.transitionMs.toFixed(0),
      'createRun ms/command': fmt(baseline.createMs / COMMANDS),
    },
  ]);
  console.log(`ratio journal/raw: ${(perJournal / perBaseline).toFixed(2)}x per transition`);
  console.log(`changes appended: ${journal.version}`);
  console.log(`target < 0.1 ms per transition: ${perJournal < 0.1 ? 'met' : 'NOT met'} (${fmt(perJournal)} ms)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
