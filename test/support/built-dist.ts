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

/** Rebuilds dist/ if it is stale; returns whether it is fresh afterwards. */
export function ensureBuiltDist(): boolean {
  if (isDistStale()) {
    try {
      execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json'], {
        cwd: ROOT,
        stdio: 'ignore',
      });
    } catch {
      // tsc still emits when another part of the tree has type errors; the check below is what matters.
    }
  }
  return !isDistStale();
}
