// Builds the NewRun the engine would hand to createRun: every host runs every stage.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NewRun } from '../../src/store/types.js';

export function newRun(hosts: readonly string[], stages: readonly string[] = ['pull'], name = 'deploy'): NewRun {
  return {
    name,
    targetKind: stages.length === 1 ? 'op' : 'pipeline',
    hosts,
    stages,
    commands: stages.flatMap((op, stage) => hosts.map((hostId) => ({ stage, hostId, op }))),
    registryHash: 'sha256:test',
    actor: 'cli',
  };
}

export function tempDataDir(): string {
  return join(mkdtempSync(join(tmpdir(), 'nixfleet-store-')), 'data');
}

/** A clock tests move by hand. */
export function fakeClock(start = Date.UTC(2026, 0, 1)) {
  let at = start;
  return {
    now: () => at,
    advance(ms: number) {
      at += ms;
    },
    set(ms: number) {
      at = ms;
    },
  };
}
