import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/config/load.js';
import type { ConfigError } from '../../src/errors/config-error.js';
import type { Registry, RegistryDiff } from '../../src/registry/types.js';
import { describeDiff } from '../../src/watch/describe-diff.js';
import { type RegistryWatcher, type ReloadInfo, watchRegistry } from '../../src/watch/registry-watcher.js';
import { makeTempDir } from '../support/cli.js';
import { fleetYaml, opsYaml, pause, saveByRename, saveWithBackup, waitFor, writeBurst } from './fleet-edits.js';

interface Seen {
  reloads: { registry: Registry; diff: RegistryDiff; info: ReloadInfo }[];
  errors: (readonly ConfigError[])[];
  restored: number;
  compiles: number;
}

const open: { watcher: RegistryWatcher; dir: string }[] = [];

afterEach(async () => {
  for (const { watcher, dir } of open.splice(0)) {
    await watcher.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

async function startWatching(files: Record<string, string>) {
  const dir = makeTempDir(files, 'nixfleet-watch-');
  const seen: Seen = { reloads: [], errors: [], restored: 0, compiles: 0 };
  const watcher = watchRegistry(join(dir, 'fleet.yaml'), {
    onReload: (registry, diff, info) => seen.reloads.push({ registry, diff, info }),
    onError: (errors) => seen.errors.push(errors),
    onRestored: () => seen.restored++,
    // The real loader, counted, so a test can tell "compiled and found nothing new" from "not yet".
    compile: (file, options) => {
      seen.compiles++;
      return loadRegistry(file, options);
    },
  });
  open.push({ watcher, dir });
  const first = await watcher.ready;
  return { dir, seen, watcher, first, fleet: join(dir, 'fleet.yaml') };
}

const opDescription = (r: Registry, id: string) => r.ops.get(id)?.description;

describe('live reload of the fleet file (CORE-006)', () => {
  it('a burst of 20 writes gives exactly one reload, of the last content', async () => {
    const { seen, watcher, fleet, first } = await startWatching({ 'fleet.yaml': fleetYaml() });
    expect(watcher.current()).toBe(first);
    expect(watcher.version()).toBe(1);

    writeBurst(
      fleet,
      Array.from({ length: 20 }, (_, i) => fleetYaml({ description: `edit ${i + 1}` })),
    );
    await waitFor('the burst to reload', () => seen.reloads.length >= 1);
    // A later, separate save is a barrier: a second reload from the burst would arrive before it.
    await pause(150);
    writeFileSync(fleet, fleetYaml({ description: 'after the burst' }));
    await waitFor('the barrier save to reload', () => seen.reloads.length >= 2);

    expect(seen.reloads.map((r) => opDescription(r.registry, 'hello'))).toEqual(['edit 20', 'after the burst']);
    expect(seen.reloads.map((r) => r.info.version)).toEqual([2, 3]);
    expect(seen.reloads[0]!.diff.ops).toEqual({ added: [], removed: [], modified: ['hello'] });
    expect(seen.reloads[0]!.info.label).toBe('fleet.yaml');
    expect(opDescription(watcher.current(), 'hello')).toBe('after the burst');
    expect(seen.errors).toEqual([]);
  });

  it('rename-on-save (temp file renamed over, and backup-then-write) reloads each time', async () => {
    const { seen, fleet } = await startWatching({ 'fleet.yaml': fleetYaml() });

    saveByRename(fleet, fleetYaml({ description: 'renamed over' }));
    await waitFor('the renamed save', () => seen.reloads.length === 1);
    saveWithBackup(fleet, fleetYaml({ description: 'written after a backup' }));
    await waitFor('the backup-style save', () => seen.reloads.length === 2);
    saveByRename(fleet, fleetYaml({ description: 'renamed over again' }));
    await waitFor('the second renamed save', () => seen.reloads.length === 3);

    expect(seen.reloads.map((r) => opDescription(r.registry, 'hello'))).toEqual([
      'renamed over',
      'written after a backup',
      'renamed over again',
    ]);
    expect(seen.errors).toEqual([]);
  });

  it('an edited include file reloads, and the diff names the changed op', async () => {
    const { seen, dir } = await startWatching({
      'fleet.yaml': fleetYaml({ include: ['ops/*.yaml'] }),
      'ops/deploy.yaml': opsYaml({ deploy: 'echo v1' }),
    });

    saveByRename(join(dir, 'ops/deploy.yaml'), opsYaml({ deploy: 'echo v2' }));
    const reload = await waitFor('the include edit', () => seen.reloads[0]);

    expect(reload.registry.ops.get('deploy')?.run).toBe('echo v2');
    expect(reload.diff.ops.modified).toEqual(['deploy']);
    expect(reload.info.label).toBe(join('ops', 'deploy.yaml'));
  });

  it('a new file that starts matching an include glob is picked up, and then watched', async () => {
    const { seen, dir, watcher } = await startWatching({
      'fleet.yaml': fleetYaml({ include: ['ops/*.yaml'] }),
      'ops/deploy.yaml': opsYaml({ deploy: 'echo deploy' }),
    });

    writeFileSync(join(dir, 'ops/restart.yaml'), opsYaml({ restart: 'echo restart' }));
    const added = await waitFor('the new include', () => seen.reloads[0]);
    expect(added.diff.ops.added).toEqual(['restart']);
    expect(watcher.current().files).toContain(join(dir, 'ops/restart.yaml'));

    writeFileSync(join(dir, 'ops/restart.yaml'), opsYaml({ restart: 'echo restart --now' }));
    const edited = await waitFor('the edit of the new include', () => seen.reloads[1]);
    expect(edited.registry.ops.get('restart')?.run).toBe('echo restart --now');

    // Files the glob does not match (editor swap files, other extensions) never trigger a compile.
    const compiles = seen.compiles;
    writeFileSync(join(dir, 'ops/.restart.yaml.swp'), 'not yaml: [');
    writeFileSync(join(dir, 'ops/notes.txt'), 'hello');
    await pause(200);
    expect(seen.compiles).toBe(compiles);
  });

  it('follows the include list itself: a glob added by a reload is watched from then on', async () => {
    const { seen, dir, fleet } = await startWatching({ 'fleet.yaml': fleetYaml() });
    mkdirSync(join(dir, 'more'));

    writeFileSync(fleet, fleetYaml({ include: ['more/*.yaml'] }));
    await waitFor('the include list change', () => seen.reloads.length === 1);
    writeFileSync(join(dir, 'more/extra.yaml'), opsYaml({ extra: 'echo extra' }));
    const reload = await waitFor('the file under the new glob', () => seen.reloads[1]);

    expect(reload.diff.ops.added).toEqual(['extra']);
  });

  it('a glob widened over a directory already watched reaches into the subdirectories it skipped', async () => {
    const { seen, dir, fleet } = await startWatching({
      'fleet.yaml': fleetYaml({ include: ['ops/*.yaml'] }),
      'ops/sub/d.yaml': opsYaml({ d: 'echo d' }),
    });
    writeFileSync(fleet, fleetYaml({ include: ['ops/**/*.yaml'] }));
    const widened = await waitFor('the wider glob', () => seen.reloads[0]);
    expect(widened.diff.ops.added).toEqual(['d']);
    // `ops/` was watched before and after; `ops/sub`, skipped under `ops/*.yaml`, is watched now.
    await pause(500);
    writeFileSync(join(dir, 'ops/sub/f.yaml'), opsYaml({ f: 'echo f' }));
    const created = await waitFor('the file created under the wider glob', () => seen.reloads[1]);
    expect(created.diff.ops.added).toEqual(['f']);
  });

  it('a broken save reports file:line:col, keeps the last good registry, and the next good save reloads', async () => {
    const { seen, fleet, watcher, first } = await startWatching({ 'fleet.yaml': fleetYaml() });
    const good = readFileSync(fleet, 'utf8');

    // Line 11 (`ops: [hello]` of pipeline `all`) now names an op that does not exist.
    writeFileSync(fleet, good.replace('ops: [hello]', 'ops: [hello, missing-op]'));
    const errors = await waitFor('the error report', () => seen.errors[0]);

    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file: expect.stringMatching(/fleet\.yaml$/), line: 11 });
    expect(errors[0]!.column).toBeGreaterThan(0);
    expect(watcher.current()).toBe(first);
    expect(watcher.version()).toBe(1);

    writeFileSync(fleet, good.replace('says hello', 'fixed'));
    const reload = await waitFor('the fixed save', () => seen.reloads[0]);
    expect(reload.info.version).toBe(2);
    expect(opDescription(watcher.current(), 'hello')).toBe('fixed');
  });

  // With and without includes: a file watched on its own is forgotten once deleted.
  it.each([
    ['with an include glob', ['ops/*.yaml']],
    ['without includes', undefined],
  ])('the fleet file deleted and written again (%s) reloads, and so do later saves', async (_name, include) => {
    const { seen, fleet } = await startWatching({
      'fleet.yaml': fleetYaml({ include }),
      'ops/deploy.yaml': opsYaml({ deploy: 'echo v1' }),
    });
    rmSync(fleet);
    const errors = await waitFor('the missing file', () => seen.errors[0]);
    expect(errors[0]!.message).toBe('fleet file not found');
    // Longer than an editor's delete-and-rename: this is a file gone, then a new one.
    await pause(300);

    writeFileSync(fleet, fleetYaml({ include, description: 'back' }));
    const back = await waitFor('the re-created file', () => seen.reloads[0]);
    expect(opDescription(back.registry, 'hello')).toBe('back');
    expect(back.info.changedFiles).toEqual([fleet]);

    writeFileSync(fleet, fleetYaml({ include, description: 'edited' }));
    const edited = await waitFor('the next save', () => seen.reloads[1]);
    expect(opDescription(edited.registry, 'hello')).toBe('edited');
  });

  it('a broken include file is reported at its own line, and fixing it reloads', async () => {
    const { seen, dir } = await startWatching({
      'fleet.yaml': fleetYaml({ include: ['ops/*.yaml'] }),
      'ops/deploy.yaml': opsYaml({ deploy: 'echo v1' }),
    });
    const include = join(dir, 'ops/deploy.yaml');

    writeFileSync(include, 'ops:\n  deploy:\n    run: [unclosed\n');
    const errors = await waitFor('the error in the include', () => seen.errors[0]);
    expect(errors[0]!.file).toMatch(/ops[/\\]deploy\.yaml$/);
    expect(errors[0]!.line).toBeGreaterThan(0);

    writeFileSync(include, opsYaml({ deploy: 'echo v2' }));
    const reload = await waitFor('the fixed include', () => seen.reloads[0]);
    expect(reload.registry.ops.get('deploy')?.run).toBe('echo v2');
  });

  it('a save that changes nothing is not a reload; a fix back to the current content says so', async () => {
    const { seen, fleet } = await startWatching({ 'fleet.yaml': fleetYaml() });
    const good = readFileSync(fleet, 'utf8');

    writeFileSync(fleet, good);
    await waitFor('the identical save to compile', () => seen.compiles === 2);
    writeFileSync(fleet, 'version: 1\nops: [');
    await waitFor('the broken save', () => seen.errors.length === 1);
    writeFileSync(fleet, good);
    await waitFor('the restoring save', () => seen.restored === 1);

    expect(seen.reloads).toEqual([]);
  });

  it('a save that changes only where a secret comes from is a reload that says ~secrets, never the value', async () => {
    const { seen, fleet } = await startWatching({ 'fleet.yaml': fleetYaml() });
    const good = readFileSync(fleet, 'utf8');
    writeFileSync(fleet, `${good}secrets:\n  token: { env: OLD_TOKEN_VARIABLE }\n`);
    await waitFor('the secret declared', () => seen.reloads.length === 1);
    writeFileSync(fleet, `${good}secrets:\n  token: { env: NEW_TOKEN_VARIABLE }\n`);
    await waitFor('the secret moved', () => seen.reloads.length === 2);
    for (const { diff, info } of seen.reloads) {
      expect(info).toMatchObject({ settingsChanged: false, secretsChanged: true });
      expect(describeDiff(diff, info)).toBe('~secrets');
    }
  });

  it('a fleet file broken at start rejects ready, keeps watching, and its first good save reloads from nothing', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: [' }, 'nixfleet-watch-');
    const reloads: RegistryDiff[] = [];
    const watcher = watchRegistry(join(dir, 'fleet.yaml'), {
      onReload: (_registry, diff) => reloads.push(diff),
      onError: () => undefined,
    });
    open.push({ watcher, dir });

    await expect(watcher.ready).rejects.toMatchObject({ name: 'ConfigErrors' });
    expect(watcher.version()).toBe(0);
    writeFileSync(join(dir, 'fleet.yaml'), fleetYaml());
    const diff = await waitFor('the first good save', () => reloads[0]);

    expect(diff.ops.added).toEqual(['hello']);
    expect(watcher.version()).toBe(1);
    expect(watcher.current().ops.has('hello')).toBe(true);
  });
});
