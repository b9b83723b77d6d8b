// dist/ is what child processes, the CLI and the PostgreSQL journal's worker thread run: rebuild it
// when any source they use is newer than its build.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '../..');
const WATCHED = ['src/store', 'src/engine', 'src/domain'];

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return sourcesUnder(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

export function isDistStale(): boolean {
  return WATCHED.flatMap(sourcesUnder).some((source) => {
    const built = join(ROOT, source.replace(/^src/, 'dist').replace(/\.ts$/, '.js'));
    return !existsSync(built) || statSync(built).mtimeMs < statSync(join(ROOT, source)).mtimeMs;
  });
}

/**
 * Rebuilds dist/ if it is stale, as `npm run build` does; returns whether it is fresh afterwards.
 * The bundle too: bin/nixfleet.js runs tsc's dist/cli/ instead of a bundle older than it, and
 * the CLI tests running meanwhile (test/e2e/fleet-cache.test.ts) look for the bundle's files.
 */
export function ensureBuiltDist(): boolean {
  if (isDistStale()) {
    const steps = [
      [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'],
      [join(ROOT, 'scripts/build-validators.mjs')],
      [join(ROOT, 'scripts/bundle-cli.mjs')],
    ];
    for (const step of steps) {
      try {
        execFileSync(process.execPath, step, { cwd: ROOT, stdio: 'ignore' });
      } catch {
        // tsc still emits when another part of the tree has type errors; the check below is what matters.
      }
    }
  }
  return !isDistStale();
}
