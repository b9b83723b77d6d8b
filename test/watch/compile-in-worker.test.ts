// CORE-006, off the event loop: the built watcher compiles fleets on a worker thread. What comes
// back must be the same Registry the calling thread would have compiled, and a broken fleet must
// come back as the same ConfigErrors, with positions.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/config/load.js';
import type { Registry } from '../../src/registry/types.js';
import { makeTempDir, ROOT } from '../support/cli.js';

type CompileInWorker = (file: string, options?: { cwd?: string }) => Promise<Registry>;
const { compileInWorker } = (await import(join(ROOT, 'dist/watch/compile-in-worker.js'))) as {
  compileInWorker: CompileInWorker;
};

const FLEET = `version: 1
hosts:
  web1: { tags: [web], vars: { role: web } }
  db1: { tags: [db] }
ops:
  hello:
    run: echo {{ host.vars.role }}
    timeout: 30s
pipelines:
  all: { ops: [hello], hosts: ["@web"] }
`;

describe('compiling a fleet on the worker thread', () => {
  it('returns the registry the calling thread compiles', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const fromWorker = await compileInWorker(join(dir, 'fleet.yaml'), { cwd: dir });
    const inThread = await loadRegistry(join(dir, 'fleet.yaml'), { cwd: dir });
    expect(fromWorker.hosts).toBeInstanceOf(Map);
    expect(fromWorker).toEqual(inThread);
  });

  it('returns a broken fleet as ConfigErrors with their positions', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET.replace('timeout: 30s', 'timeout: 10 minutes') });
    const failure = await compileInWorker(join(dir, 'fleet.yaml'), { cwd: dir }).catch((error: unknown) => error);
    // The built module's own ConfigErrors class, so compare by name rather than by identity.
    expect((failure as Error).name).toBe('ConfigErrors');
    expect((failure as { errors: unknown }).errors).toEqual([
      expect.objectContaining({ file: 'fleet.yaml', line: 8, path: 'ops.hello.timeout' }),
    ]);
  });
});
