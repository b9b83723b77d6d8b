// Cost of journaling a command's lifecycle (see CORE-003): 10,000 commands go
// PENDING -> VALIDATING -> EXECUTING -> SUCCESS through openJournal (each transition is one
// IMMEDIATE transaction: read, validate, update, append a change). The baseline, measured in the
// same run on the same disk with the same pragmas, is the bare minimum SQLite work: the same
// number of INSERT / UPDATE statements, each its own autocommit transaction, no change log.
// Run: npx tsc -p tsconfig.build.json && node bench/journal.bench.mjs
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// The raw baseline uses the journal's own driver (CORE-003, "The SQLite driver").
import { SqliteDriver as Database } from '../dist/store/database.js';
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

const ROUNDS = 3;
/** Later rounds are skipped past this, so a loaded machine still finishes well under 2 minutes. */
const BUDGET_MS = 60_000;

const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
const fmt = (n) => n.toFixed(4);

const dir = mkdtempSync(join(tmpdir(), 'nixfleet-bench-journal-'));
try {
  const began = performance.now();
  // Journal and baseline alternate, so a burst of load elsewhere hits both sides alike.
  const journalRounds = [];
  const baselineRounds = [];
  for (let round = 0; round < ROUNDS && (round === 0 || performance.now() - began < BUDGET_MS); round++) {
    journalRounds.push(benchJournal(mkdtempSync(join(dir, 'journal-'))));
    baselineRounds.push(benchBaseline(mkdtempSync(join(dir, 'baseline-'))));
  }
  const transitions = COMMANDS * TRANSITIONS.length;
  const perJournal = median(journalRounds.map((r) => r.transitionMs)) / transitions;
  const perBaseline = median(baselineRounds.map((r) => r.transitionMs)) / transitions;
  const bestJournal = Math.min(...journalRounds.map((r) => r.transitionMs)) / transitions;
  const bestBaseline = Math.min(...baselineRounds.map((r) => r.transitionMs)) / transitions;
  console.log(
    `${COMMANDS} commands (${RUNS} runs x ${HOSTS_PER_RUN} hosts), ${transitions} transitions, median of ${journalRounds.length} round(s)`,
  );
  console.table([
    {
      what: 'journal.transitionCommand',
      'ms/transition (median)': fmt(perJournal),
      'ms/transition (best)': fmt(bestJournal),
      'createRun ms/command': fmt(median(journalRounds.map((r) => r.createMs)) / COMMANDS),
    },
    {
      what: 'raw better-sqlite3 UPDATE, no change log',
      'ms/transition (median)': fmt(perBaseline),
      'ms/transition (best)': fmt(bestBaseline),
      'createRun ms/command': fmt(median(baselineRounds.map((r) => r.createMs)) / COMMANDS),
    },
  ]);
  console.log(`ratio journal/raw: ${(perJournal / perBaseline).toFixed(2)}x per transition (median)`);
  console.log(`changes appended per round: ${journalRounds[0].version}`);
  console.log(`target < 0.1 ms per transition: ${perJournal < 0.1 ? 'met' : 'NOT met'} (median ${fmt(perJournal)} ms)`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
