// The bundle (dist/bundle/, see CORE-005, start-up) sits where dist/cli/ does relative to the
// package root, and holds as entry points the files the code loads next to itself: every path the
// bundled code computes from import.meta.url must name a file that is there. Read from the
// bundle's own text, so a new such path is checked as soon as it is bundled.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, ROOT } from '../support/cli.js';

const BUNDLE = join(ROOT, 'dist/bundle');
const URL_FROM_HERE = /new URL\("([^"]+)", import\.meta\.url\)/g;

describe('the paths the bundle computes from import.meta.url', () => {
  beforeAll(() => {
    const mtime = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? -1;
    if (mtime(join(BUNDLE, 'main.js')) < mtime(join(ROOT, 'dist/cli/main.js'))) {
      execFileSync(process.execPath, [join(ROOT, 'scripts/bundle-cli.mjs')], { cwd: ROOT });
    }
  });

  it('all resolve to files of the package', () => {
    const found = new Map<string, string>();
    for (const name of readdirSync(BUNDLE).filter((file) => file.endsWith('.js'))) {
      const from = new URL(`file://${join(BUNDLE, name)}`);
      for (const [, path] of readFileSync(join(BUNDLE, name), 'utf8').matchAll(URL_FROM_HERE)) {
        const target = fileURLToPath(new URL(path!, from));
        // The PostgreSQL journal's path for when it runs as TypeScript (tests), not from a build.
        if (relative(ROOT, target).startsWith('..')) continue;
        found.set(relative(ROOT, target), name);
      }
    }
    // The ones known today, so that a change in how the bundle spells them cannot pass unseen.
    expect([...found.keys()]).toEqual(
      expect.arrayContaining([
        'dist/bundle/compile-worker-entry.js',
        'dist/bundle/fleet-validators.js',
        'dist/bundle/pg-worker-entry.js',
        'dist/bundle/spawner-process.js',
        'dist/bundle/spawner.pl',
        'dist/bundle/spawner.py',
        'package.json',
        'schemas/fleet.schema.json',
      ]),
    );
    for (const [path, name] of found) expect(existsSync(join(ROOT, path)), `${path}, computed in ${name}`).toBe(true);
  });
});

describe('the bundle build', () => {
  // On a dist/ of its own: a build of the real bundle swaps dist/bundle under the CLI other tests run.
  it("removes what a build stopped midway left in dist/ (its process gone), and never a running build's", async () => {
    const { removeStaleBundles } = (await import(join(ROOT, 'scripts/stale-bundles.mjs'))) as {
      removeStaleBundles(dist: string): void;
    };
    const dist = makeTempDir();
    const gone = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    const stale = join(dist, `bundle.${gone}`);
    const running = join(dist, `bundle.${process.pid}`);
    for (const dir of [stale, running, join(dist, 'bundle')]) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'main.js'), '// a bundle\n');
    }
    removeStaleBundles(dist);
    expect(existsSync(stale)).toBe(false);
    expect(existsSync(running)).toBe(true);
    expect(existsSync(join(dist, 'bundle/main.js'))).toBe(true);
  });
});
