// CORE-004, fan-out and slow clients: a state larger than the send-buffer limit (8 MiB) must not
// keep a client from getting live while changes flow. The real `nixfleet serve`, a real `ws`
// client following the protocol, and the real SQLite journal written by this test's process.
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import type { Journal } from '../../src/store/types.js';
import { makeTempDir } from '../support/cli.js';
import { type ServeProcess, startServe } from '../sync/support/serve-process.js';
import { SyncProbe } from '../sync/support/sync-probe.js';

vi.setConfig({ testTimeout: 180_000 });

let serve: ServeProcess | undefined;
let journal: Journal | undefined;
let ticker: NodeJS.Timeout | undefined;
const probes: SyncProbe[] = [];
afterEach(async () => {
  clearInterval(ticker);
  for (const probe of probes.splice(0)) probe.close();
  if (serve) await serve.stop('SIGKILL');
  serve = undefined;
  journal?.close();
  journal = undefined;
});

/** Finished runs of `hosts` hosts and two stages each: about 1.6 MB of `init` per run. */
function writeBigJournal(into: Journal, runs: number, hosts: number): void {
  const ids = Array.from({ length: hosts }, (_, i) => `host-${String(i).padStart(4, '0')}`);
  into.syncHosts(ids.map((id) => ({ id, hostname: id, transport: 'local', tags: ['big'] })));
  for (let r = 0; r < runs; r++) {
    const { run, commands } = into.createRun({
      name: 'deploy',
      targetKind: 'pipeline',
      hosts: ids,
      stages: ['build', 'switch'],
      commands: ids.flatMap((hostId) => [
        { stage: 0, hostId, op: 'build' },
        { stage: 1, hostId, op: 'switch' },
      ]),
      registryHash: 'sha256:big',
      actor: 'cli',
    });
    for (const command of commands) into.transitionCommand(command.id, 'SKIPPED');
    into.finishRun(run.id, 'FAILED');
  }
}

async function freshState(server: ServeProcess): Promise<{ version: number; state: Record<string, unknown[]> }> {
  const response = await fetch(new URL('api/state', server.baseUrl), {
    headers: { Authorization: `Bearer ${server.token}` },
  });
  return (await response.json()) as { version: number; state: Record<string, unknown[]> };
}

/** Records compared by id, so order does not matter, only content. */
function byId(state: Record<string, unknown> | null): Record<string, unknown> {
  const keyed = (list: unknown) =>
    Object.fromEntries(((list as { id: string | number }[]) ?? []).map((r) => [String(r.id), r]));
  return {
    hosts: keyed(state?.hosts),
    commands: keyed(state?.commands),
    pipelines: keyed(state?.pipelines),
    events: keyed(state?.events),
    registry: state?.registry,
  };
}

describe('a state larger than the send-buffer limit', () => {
  it('a client connecting while a run goes on gets init, then the live changes, and ends on the fresh state', async () => {
    const dir = makeTempDir();
    const dataDir = join(dir, '.nixfleet');
    journal = openJournal(dataDir);
    writeBigJournal(journal, 8, 3000);

    serve = await startServe(dir);
    const sizeOfInit = JSON.stringify(await freshState(serve)).length;
    expect(sizeOfInit).toBeGreaterThan(8 * 1024 * 1024);

    // A run in progress: a change every few milliseconds from this process, as an `apply` in
    // another terminal would write them.
    const live = ['live-1', 'live-2'];
    journal.syncHosts(live.map((id) => ({ id, hostname: id, transport: 'local', tags: ['live'] })));
    const { run, commands } = journal.createRun({
      name: 'deploy',
      targetKind: 'pipeline',
      hosts: live,
      stages: ['pull'],
      commands: live.map((hostId) => ({ stage: 0, hostId, op: 'pull' })),
      registryHash: 'sha256:live',
      actor: 'cli',
    });
    for (const command of commands) {
      journal.transitionCommand(command.id, 'VALIDATING');
      journal.transitionCommand(command.id, 'EXECUTING');
    }
    let tick = 0;
    ticker = setInterval(() => {
      for (const command of commands) journal?.reportProgress(command.id, `line ${tick}`);
      tick++;
    }, 5);

    const probe = await SyncProbe.connect(serve.baseUrl, { token: serve.token, followProtocol: true });
    probes.push(probe);
    await probe.waitFor(() => probe.model.version !== null || !probe.isOpen, 60_000, 'init');
    expect(probe.isOpen).toBe(true);
    expect(probe.messages[0]?.type).toBe('init');
    // Live: changes written after the init arrive as deltas on the same socket.
    await probe.waitFor(() => probe.deltas().length >= 20 || !probe.isOpen, 60_000, 'live deltas');
    expect(probe.isOpen).toBe(true);

    clearInterval(ticker);
    for (const command of commands) journal.transitionCommand(command.id, 'SUCCESS', { exitCode: 0 });
    journal.finishRun(run.id, 'COMPLETE');
    const head = journal.version();
    await probe.waitFor(() => probe.model.version === head || !probe.isOpen, 60_000, `version ${head}`);
    expect(probe.isOpen).toBe(true);
    expect(probe.stateRequests).toBe(0);
    const fresh = await freshState(serve);
    expect(fresh.version).toBe(head);
    expect(byId(probe.model.state)).toEqual(byId(fresh.state));
  });
});
