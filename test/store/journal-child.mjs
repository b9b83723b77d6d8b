// A separate nixfleet-like process for the cross-process tests (see CORE-003, CORE-012): it opens
// the journal from the built dist/ (argv: data directory, then optionally a postgres:// store) and
// obeys one line per command on stdin, answering one JSON line.
import { createInterface } from 'node:readline';
import { openJournal } from '../../dist/store/journal.js';

const journal = openJournal(process.argv[2], process.argv[3] ? { store: process.argv[3] } : {});
let held;

function newRun(hosts, stages) {
  return {
    name: 'child',
    targetKind: 'pipeline',
    hosts,
    stages,
    commands: stages.flatMap((op, stage) => hosts.map((hostId) => ({ stage, hostId, op }))),
    registryHash: 'sha256:child',
    actor: 'cli',
  };
}

async function handle(line) {
  const [verb, arg] = line.trim().split(/\s+/);
  switch (verb) {
    case 'claim':
      try {
        held = journal.createRun(newRun([arg], ['pull']));
        return { claim: 'won', runId: held.run.id };
      } catch (error) {
        if (error.name !== 'HostsBusyError') throw error;
        return { claim: 'busy', busy: error.busy };
      }
    case 'release':
      for (const command of held.commands) journal.transitionCommand(command.id, 'SKIPPED');
      journal.finishRun(held.run.id, 'FAILED');
      held = undefined;
      return { released: true };
    case 'mid-run': {
      // Stage 0 done on web1, web2 half-way through, stage 1 still PENDING: then we get killed.
      const { run, commands } = journal.createRun(newRun(['web1', 'web2'], ['pull', 'switch']));
      const [done, running] = commands;
      journal.transitionCommand(done.id, 'VALIDATING');
      journal.transitionCommand(done.id, 'EXECUTING');
      const doneOut = journal.openOutput(done.id);
      doneOut.write('pulled\n');
      await doneOut.close();
      journal.transitionCommand(done.id, 'SUCCESS', { exitCode: 0 });
      journal.transitionCommand(running.id, 'VALIDATING');
      // Under an armed rollback timer (CORE-009), which no one is left to disarm once we are killed.
      journal.setArmed(running.id, 3000, 'armed');
      journal.transitionCommand(running.id, 'EXECUTING');
      const runningOut = journal.openOutput(running.id);
      runningOut.write('half of the output\n');
      // The sink is still open when we get killed; wait until the bytes are stored.
      for (let i = 0; i < 500 && journal.outputSize(running.id) === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      journal.logEvent({ category: 'run', level: 'info', action: 'note', message: 'written before the kill' });
      return { runId: run.id, commands: commands.map((c) => c.id), version: journal.version() };
    }
    case 'cancel-requested':
      return { cancelRequested: journal.getRun(arg).cancelRequested };
    case 'owner':
      return { owner: journal.owner };
    default:
      throw new Error(`unknown verb ${verb}`);
  }
}

const lines = createInterface({ input: process.stdin });
process.stdout.write(`${JSON.stringify({ ready: true, pid: process.pid })}\n`);
for await (const line of lines) {
  if (!line.trim()) continue;
  try {
    process.stdout.write(`${JSON.stringify(await handle(line))}\n`);
  } catch (error) {
    process.stdout.write(`${JSON.stringify({ error: String(error?.stack ?? error) })}\n`);
  }
}
journal.close();
