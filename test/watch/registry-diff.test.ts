import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/config/load.js';
import { diffRegistries, diffSummaries, isEmptyDiff } from '../../src/registry/diff.js';
import { summarizeRegistry } from '../../src/registry/summary.js';
import type { Registry } from '../../src/registry/types.js';
import { describeDiff } from '../../src/watch/describe-diff.js';
import { makeTempDir } from '../support/cli.js';

const dir = makeTempDir({}, 'nixfleet-diff-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let counter = 0;
async function compile(yaml: string): Promise<Registry> {
  const file = join(dir, `fleet-${++counter}.yaml`);
  writeFileSync(file, yaml);
  return loadRegistry(file);
}

const BASE = `version: 1
hosts:
  web1: { tags: [web] }
  web2: { tags: [web] }
ops:
  pull: { run: git pull }
  build: { run: make, timeout: 5m }
pipelines:
  ship: { ops: [pull, build] }
`;

describe('what a reload changed (CORE-006, diff)', () => {
  it('names added, removed and modified hosts, ops and pipelines by id', async () => {
    const before = await compile(BASE);
    const after = await compile(`version: 1
hosts:
  web1: { tags: [web, eu] }
  db1: {}
ops:
  pull: { run: git pull }
  build: { run: make, timeout: 10m }
  test: { run: make test }
pipelines:
  ship: { ops: [pull, build, test] }
`);
    const diff = diffRegistries(before, after);
    expect(diff).toEqual({
      hosts: { added: ['db1'], removed: ['web2'], modified: ['web1'] },
      ops: { added: ['test'], removed: [], modified: ['build'] },
      pipelines: { added: [], removed: [], modified: ['ship'] },
    });
    expect(describeDiff(diff)).toBe('+host db1, -host web2, ~host web1, +op test, ~op build, ~pipeline ship');
  });

  it('a definition that only moved (lines inserted above it) is not modified', async () => {
    const before = await compile(BASE);
    const after = await compile(BASE.replace('ops:\n', '# a comment\n\nops:\n'));
    expect(after.ops.get('pull')?.source.line).not.toBe(before.ops.get('pull')?.source.line);
    expect(isEmptyDiff(diffRegistries(before, after))).toBe(true);
    expect(describeDiff(diffRegistries(before, after))).toBe('no definition changed');
  });

  it('against nothing, everything is added; large changes are counted, not listed', async () => {
    const hosts = Array.from({ length: 30 }, (_, i) => `  h${i}: {}`).join('\n');
    const after = await compile(BASE.replace('hosts:\n', `hosts:\n${hosts}\n`));
    const diff = diffRegistries(null, after);
    expect(diff.hosts.added).toHaveLength(32);
    expect(diff.ops.added).toEqual(['pull', 'build']);
    expect(describeDiff(diff, { settingsChanged: true })).toBe('+32 hosts, +2 ops, +1 pipeline, ~settings');
  });

  it('summaries from the journal diff the same way, by id and content', async () => {
    const before = summarizeRegistry(await compile(BASE));
    const after = summarizeRegistry(
      await compile(BASE.replace('git pull', 'git pull --rebase').replace('  web2: { tags: [web] }\n', '')),
    );
    const diff = diffSummaries(before, after);
    expect(diff.hosts.removed).toEqual(['web2']);
    expect(diffSummaries(null, after).pipelines.added).toEqual(['ship']);
  });
});
