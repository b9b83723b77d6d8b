import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPlan } from '../../src/engine/plan.js';
import { startRun } from '../../src/engine/run.js';
import type { RunEvent } from '../../src/engine/types.js';
import { openJournal } from '../../src/store/journal.js';
import { watchRegistry } from '../../src/watch/registry-watcher.js';
import { createReloadRunner } from '../../src/watch/reload-runner.js';
import { makeTempDir } from '../support/cli.js';
import { waitFor } from './fleet-edits.js';

// Stage 1 waits for the test to create `go`; stage 2 prints which definition it runs.
const fleet = (word: string) => `version: 1
hosts:
  web1: {}
ops:
  wait-for-go:
    run: i=0; while [ ! -e go ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done
    timeout: 20s
  say:
    run: echo said-${word}
pipelines:
  two-step:
    ops: [wait-for-go, say]
`;

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

async function setUp() {
  const dir = makeTempDir({ 'fleet.yaml': fleet('old') }, 'nixfleet-watch-run-');
  cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
  const journal = openJournal(join(dir, '.nixfleet'));
  cleanup.push(() => journal.close());
  const reloads: number[] = [];
  const watcher = watchRegistry(join(dir, 'fleet.yaml'), {
    onReload: (_r, _d, info) => reloads.push(info.version),
    onError: (errors) => {
      throw new Error(`unexpected errors: ${errors.map((e) => e.message).join('; ')}`);
    },
  });
  cleanup.push(() => watcher.close());
  await watcher.ready;
  return { dir, journal, watcher, reloads };
}

const outputOf = (events: RunEvent[]) =>
  events
    .filter((e) => e.type === 'command_output')
    .map((e) => e.chunk)
    .join('');

describe('runs keep the snapshot they started with (CORE-006; specs/README.md, decision 1)', () => {
  it('a run started before a save finishes with the old definitions; the next run uses the new ones', async () => {
    const { dir, journal, watcher, reloads } = await setUp();
    const events: RunEvent[] = [];
    const started = await startRun(buildPlan(watcher.current(), 'two-step', undefined), {
      journal,
      actor: 'test',
      onEvent: (e) => events.push(e),
    });

    writeFileSync(join(dir, 'fleet.yaml'), fleet('new'));
    await waitFor('the reload', () => reloads.length === 1);
    writeFileSync(join(dir, 'go'), '');
    const outcome = await started.done;

    expect(outcome.status).toBe('COMPLETE');
    expect(outputOf(events)).toContain('said-old');
    expect(outputOf(events)).not.toContain('said-new');
    expect(journal.getRun(started.runId)?.registryHash).not.toBe(watcher.current().hash);

    const after: RunEvent[] = [];
    const next = await startRun(buildPlan(watcher.current(), 'two-step', undefined), {
      journal,
      actor: 'test',
      onEvent: (e) => after.push(e),
    });
    expect((await next.done).status).toBe('COMPLETE');
    expect(outputOf(after)).toContain('said-new');
  });

  it('watch --run scheduling: saves during a run queue exactly one re-run, planned from the newest snapshot', async () => {
    const { dir, journal, watcher, reloads } = await setUp();
    const outputs: string[] = [];
    const queued: string[] = [];
    let current: RunEvent[] = [];
    const runner = createReloadRunner({
      target: 'two-step',
      selector: undefined,
      journal,
      actor: 'watch',
      current: () => watcher.current(),
      version: () => watcher.version(),
      listenerFor: () => {
        current = [];
        return (e) => current.push(e);
      },
      onFinished: () => {
        outputs.push(outputOf(current));
      },
      onQueued: (runId) => queued.push(runId),
    });
    cleanup.push(async () => {
      await runner.stop({ cancel: true, kill: true });
    });

    runner.request();
    // A run starts once its secrets are read (CORE-010), which is asynchronous.
    await waitFor('the first run to start', () => runner.active !== undefined);
    const firstRun = runner.active?.runId;
    expect(firstRun).toBeDefined();
    for (const word of ['second', 'third']) {
      writeFileSync(join(dir, 'fleet.yaml'), fleet(word));
      await waitFor(`the reload to ${word}`, () => reloads.length === (word === 'second' ? 1 : 2));
      runner.request();
    }
    expect(queued).toEqual([firstRun]);
    expect(runner.active?.runId).toBe(firstRun);

    writeFileSync(join(dir, 'go'), '');
    await waitFor('both runs', () => outputs.length === 2);
    expect(outputs[0]).toContain('said-old');
    expect(outputs[1]).toContain('said-third');
    expect(journal.listRuns().length).toBe(2);
    expect(existsSync(join(dir, 'go'))).toBe(true);
  });
});
