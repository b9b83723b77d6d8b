// The fleet the reload benchmarks save: 2,000 hosts in fleet.yaml and 200 ops in four included
// files (see CORE-006). Shared by bench/reload.bench.mjs and bench/reload-blocking.bench.mjs.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** An `ops:` file of `ids`, each op's description naming the revision (a save changes it). */
export function opsYaml(ids, revision) {
  return `ops:\n${ids.map((id) => `  ${id}:\n    description: revision ${revision}\n    run: echo ${id} on {{ host.name }}\n`).join('')}`;
}

/** Writes the fleet into `dir`; returns the first ops file and the ids it holds. */
export function writeLargeFleet(dir) {
  mkdirSync(join(dir, 'ops'));
  const hosts = Array.from({ length: 2000 }, (_, i) => `  h${i}: { tags: [t${i % 20}], vars: { n: "${i}" } }`);
  const opIds = Array.from({ length: 200 }, (_, i) => `op${i}`);
  writeFileSync(
    join(dir, 'fleet.yaml'),
    `version: 1\nhosts:\n${hosts.join('\n')}\npipelines:\n  all: { ops: [${opIds.slice(0, 20).join(', ')}] }\ninclude: [ops/*.yaml]\n`,
  );
  for (let f = 0; f < 4; f++)
    writeFileSync(join(dir, `ops/part${f}.yaml`), opsYaml(opIds.slice(f * 50, f * 50 + 50), 0));
  return { opsFile: join(dir, 'ops/part0.yaml'), opIds: opIds.slice(0, 50) };
}
