import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import type { Journal } from '../../src/store/types.js';
import { type RegistryWatcher, watchRegistry } from '../../src/watch/registry-watcher.js';
import { makeTempDir } from '../support/cli.js';
import { fleetYaml, waitFor } from './fleet-edits.js';

const cleanup: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step();
});

function start(journal: Journal, dir: string, onError = () => undefined): RegistryWatcher {
  const watcher = watchRegistry(join(dir, 'fleet.yaml'), { journal, onReload: () => undefined, onError });
  cleanup.push(() => watcher.close());
  return watcher;
}

describe('reloads are journaled (CORE-006, journal)', () => {
  it('records the first snapshot, each reload as registry_reloaded with its diff, and broken saves as warn events', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleetYaml() }, 'nixfleet-watch-journal-');
    const journal = openJournal(join(dir, '.nixfleet'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanup.push(() => journal.close());
    const watcher = start(journal, dir);
    const first = await watcher.ready;

    expect(journal.currentRegistry()?.hash).toBe(first.hash);
    expect(journal.listHosts().map((h) => h.id)).toEqual(['web1']);
    const afterStart = journal.version();

    writeFileSync(
      join(dir, 'fleet.yaml'),
      fleetYaml({ description: 'changed' }).replace('hosts:\n', 'hosts:\n  web2: {}\n'),
    );
    await waitFor('the reload to be journaled', () => journal.currentRegistry()?.hash !== first.hash);

    const changes = journal.changesSince(afterStart).map((c) => c.change);
    const reloaded = changes.find((c) => c.type === 'registry_reloaded');
    expect(reloaded).toMatchObject({
      type: 'registry_reloaded',
      diff: { hosts: { added: ['web2'] }, ops: { modified: ['hello'] } },
      registry: { hash: watcher.current().hash },
    });
    expect(changes.some((c) => c.type === 'host_added' && c.host.id === 'web2')).toBe(true);
    const event = journal.listEvents({ limit: 5 }).find((e) => e.action === 'reloaded');
    expect(event).toMatchObject({ category: 'registry', level: 'info', actor: 'watch' });
    expect(event?.message).toBe('reloaded fleet.yaml (v2): +host web2, ~op hello');

    writeFileSync(join(dir, 'fleet.yaml'), 'version: 1\nops: [');
    const failed = await waitFor('the broken save to be journaled', () =>
      journal.listEvents({ limit: 5 }).find((e) => e.action === 'reload_failed'),
    );
    expect(failed).toMatchObject({ category: 'registry', level: 'warn' });
    expect(failed.message).toMatch(/kept v2: .*fleet\.yaml:\d+:\d+/);
    expect(journal.currentRegistry()?.hash).toBe(watcher.current().hash);
  });

  it('a restart on unchanged content adds no registry change', async () => {
    const dir = makeTempDir({ 'fleet.yaml': fleetYaml() }, 'nixfleet-watch-journal-');
    const journal = openJournal(join(dir, '.nixfleet'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    cleanup.push(() => journal.close());
    const first = start(journal, dir);
    await first.ready;
    await first.close();
    const version = journal.version();

    await start(journal, dir).ready;
    expect(journal.version()).toBe(version);
  });
});
