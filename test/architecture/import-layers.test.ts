// specs/README.md, the layers: every import in src/ points down the stack of folders, and no
// file reaches itself through its imports. Read from the source text, so a new arrow upwards
// fails here before it can tangle the layers.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const SRC = resolve(import.meta.dirname, '../../src');

// Higher imports lower, never the other way. Folders on one rank do not import each other.
const RANK: Record<string, number> = {
  domain: 0,
  errors: 0,
  registry: 1,
  config: 2,
  store: 2,
  engine: 3,
  ui: 4,
  sync: 4,
  watch: 4,
  dashboard: 1,
  cli: 5,
};

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return entry.name === 'static' ? [] : sourceFiles(path);
    return entry.name.endsWith('.ts') ? [path] : [];
  });
}

const IMPORT = /(?:from\s+|import\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(IMPORT)].map((match) => resolve(dirname(file), match[1] ?? '').replace(/\.js$/, '.ts'));
}

const folderOf = (file: string) => relative(SRC, file).split('/')[0] ?? '';
const files = sourceFiles(SRC);
const graph = new Map(files.map((file) => [file, importsOf(file)]));

describe('the import graph of src/', () => {
  it('has a rank for every top-level folder', () => {
    const folders = new Set(files.map(folderOf));
    expect([...folders].filter((folder) => RANK[folder] === undefined)).toEqual([]);
  });

  it('reads import() too: the CLI loads the fleet compiler only where it is used (CORE-005, start-up)', () => {
    expect(graph.get(join(SRC, 'cli/load-fleet.ts'))).toContain(join(SRC, 'config/load.ts'));
  });

  it('only imports downwards between folders', () => {
    const upward: string[] = [];
    for (const [file, targets] of graph) {
      for (const target of targets) {
        const from = folderOf(file);
        const to = folderOf(target);
        if (from !== to && (RANK[to] ?? 99) >= (RANK[from] ?? -1)) {
          upward.push(`${relative(SRC, file)} -> ${relative(SRC, target)}`);
        }
      }
    }
    expect(upward).toEqual([]);
  });

  it('has no import cycle between files', () => {
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const stack: string[] = [];
    const visit = (file: string) => {
      state.set(file, 'open');
      stack.push(file);
      for (const target of graph.get(file) ?? []) {
        if (state.get(target) === 'open') {
          cycles.push(
            stack
              .slice(stack.indexOf(target))
              .concat(target)
              .map((f) => relative(SRC, f))
              .join(' -> '),
          );
        } else if (!state.has(target) && graph.has(target)) {
          visit(target);
        }
      }
      stack.pop();
      state.set(file, 'done');
    };
    for (const file of files) if (!state.has(file)) visit(file);
    expect(cycles).toEqual([]);
  });
});
