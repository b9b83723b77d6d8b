// A separate process that writes to a data directory through the real journal (from dist/), so
// the sync tests see changes made by another process exactly as `nixfleet apply` makes them.
//   node journal-writer.mjs DATA_DIR events COUNT [MESSAGE_BYTES]
//   node journal-writer.mjs DATA_DIR run HOST[,HOST...] [STAGE_DELAY_MS]
//   node journal-writer.mjs DATA_DIR hosts HOST[,HOST...]
//   node journal-writer.mjs DATA_DIR prune          (every finished run, as `prune --older-than 0`)
import { openJournal } from '../../../dist/store/journal.js';

const [dataDir, scenario, arg1, arg2] = process.argv.slice(2);
// $NIXFLEET_DATABASE_URL: the PostgreSQL store the test's server reads (CORE-012).
const store = process.env.NIXFLEET_DATABASE_URL;
const journal = openJournal(dataDir, store ? { store } : {});
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

if (scenario === 'events') {
  const filler = 'x'.repeat(Number(arg2 ?? 0));
  for (let i = 0; i < Number(arg1); i++) {
    journal.logEvent({
      category: 'test',
      level: 'info',
      actor: 'writer',
      action: 'tick',
      message: `tick ${i} ${filler}`,
    });
  }
} else if (scenario === 'prune') {
  process.stdout.write(`${journal.prune({ now: Date.now() + 1, commandRetentionMs: 0 }).pipelines}\n`);
} else if (scenario === 'hosts') {
  journal.syncHosts(hostsOf(arg1));
} else if (scenario === 'run') {
  const hosts = arg1.split(',');
  const delay = Number(arg2 ?? 0);
  journal.syncHosts(hostsOf(arg1));
  const stages = ['pull', 'switch'];
  const { run, commands } = journal.createRun({
    name: 'deploy',
    targetKind: 'pipeline',
    hosts,
    stages,
    commands: stages.flatMap((op, stage) => hosts.map((hostId) => ({ stage, hostId, op }))),
    registryHash: 'test',
    actor: 'cli',
  });
  for (let stage = 0; stage < stages.length; stage++) {
    if (stage > 0) journal.advanceRun(run.id, stage);
    for (const command of commands.filter((c) => c.stage === stage)) {
      journal.transitionCommand(command.id, 'VALIDATING');
      journal.transitionCommand(command.id, 'EXECUTING');
      const sink = journal.openOutput(command.id);
      sink.write(`${command.op} on ${command.hostId}: <b>ok</b>\n`);
      await sink.close();
      journal.reportProgress(command.id, `${command.op} on ${command.hostId}`);
      if (delay) await sleep(delay);
      journal.transitionCommand(command.id, 'SUCCESS', { exitCode: 0 });
    }
  }
  journal.finishRun(run.id, 'COMPLETE');
  process.stdout.write(`${run.id}\n`);
} else {
  process.stderr.write(`unknown scenario ${scenario}\n`);
  process.exitCode = 2;
}
journal.close();

function hostsOf(list) {
  return list.split(',').map((id) => ({ id, hostname: id, transport: 'local', tags: ['test'] }));
}
