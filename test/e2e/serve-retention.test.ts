// `nixfleet serve` applies retention on a schedule, not only when it starts (see CORE-003,
// retention): the real CLI serving a real data directory into which another process journals a
// run that finished long ago.
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import { DAY_MS } from '../../src/store/retention.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';

let serve: ServeProcess | undefined;
afterEach(async () => {
  await serve?.stop('SIGKILL');
  serve = undefined;
});

/** Journals, from this process, a run that finished `ageDays` ago; returns its id. */
function oldRun(dataDir: string, ageDays: number): string {
  const journal = openJournal(dataDir, { now: () => Date.now() - ageDays * DAY_MS });
  const { run, commands } = journal.createRun({
    name: 'old',
    targetKind: 'op',
    hosts: ['a'],
    stages: ['old'],
    commands: [{ stage: 0, hostId: 'a', op: 'old' }],
    registryHash: 'sha256:retention',
    actor: 'cli',
  });
  journal.transitionCommand(commands[0]!.id, 'SKIPPED');
  journal.finishRun(run.id, 'FAILED');
  journal.close();
  return run.id;
}

function hasRun(dataDir: string, runId: string): boolean {
  const journal = openJournal(dataDir, { readOnly: true });
  try {
    return journal.getRun(runId) !== undefined;
  } finally {
    journal.close();
  }
}

describe('serve and retention', () => {
  it('prunes on its interval while it runs (NIXFLEET_PRUNE_INTERVAL)', { timeout: 120_000 }, async () => {
    const cwd = makeTempDir();
    const dataDir = join(cwd, '.nixfleet');
    const before = oldRun(dataDir, 40);
    serve = await startServe(cwd, [], { NIXFLEET_PRUNE_INTERVAL: '1s' });
    // At start, as before.
    expect(hasRun(dataDir, before)).toBe(false);
    // A run finished long ago, journaled after serve started: only a schedule removes it.
    const later = oldRun(dataDir, 40);
    // serve reports a prune once it is done: the run is gone from the journal a moment before the
    // line is written, so both are waited for.
    const pruned = /"type":"pruned"[^\n]*"pipelines":1/;
    const done = () => !hasRun(dataDir, later) && pruned.test(serve!.output());
    const deadline = Date.now() + 60_000;
    while (!done() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
    expect(hasRun(dataDir, later)).toBe(false);
    expect(serve.output()).toMatch(pruned);
    expect(await serve.stop('SIGTERM')).toBe(0);
    serve = undefined;
  });

  it('a bad NIXFLEET_PRUNE_INTERVAL is a usage error (exit 2)', { timeout: 60_000 }, async () => {
    const cwd = makeTempDir();
    const result = await runCli(cwd, ['serve', '--port', '0'], { env: { NIXFLEET_PRUNE_INTERVAL: 'soon' } });
    expect(result.stderr).toMatch(
      /^nixfleet: NIXFLEET_PRUNE_INTERVAL: `soon` is not a duration between 1s and 365d\n {2}hint: /,
    );
    expect(result.exitCode).toBe(2);
  });
});
