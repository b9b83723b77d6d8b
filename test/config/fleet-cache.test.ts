// The fleet cache keeps a registry as JSON and gives it back (CORE-005, start-up): what it gives
// back must be the registry the compiler built, every field and the order of every map, and the
// same content hash, for the demo fleet and for one that sets every key the compiler reads.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeRegistry, encodeRegistry } from '../../src/config/fleet-cache.js';
import { loadFleetFiles } from '../../src/config/load.js';
import { makeTempDir, ROOT } from '../support/cli.js';

const EVERY_KEY = `version: 1
settings:
  concurrency: 3
  dataDir: state
  shell: /bin/bash
  defaultPipeline: roll
  store: postgres://nixfleet:pw@127.0.0.1:5432/nixfleet
  ssh:
    identityFile: ~/.ssh/fleet
    strictHostKeyChecking: "no"
    connectTimeout: 5s
    multiplex: false
secrets:
  token: { env: TOKEN }
  key: { file: secrets/key }
  vault: { command: "echo s3cret" }
hosts:
  z-last: { tags: [web, canary], vars: { region: eu, port: 8080 } }
  a-first:
    transport: ssh
    address: 10.0.0.1
    user: deploy
    port: 2222
    identityFile: ~/.ssh/a
    tags: [db]
  m-middle: {}
ops:
  build:
    description: Build it
    run: make -C {{ host.vars.region }}
    precheck: test -d /srv
    postcheck: test -f /srv/ok
    timeout: 90s
    retryable: true
    retries: 2
    env: { MODE: fast, COUNT: 3 }
    cwd: /srv/{{ host.name }}
    rollback: { run: make undo, timeout: 30s, armed: 2m }
  local:
    run: echo {{ secret.vault }}
    runsOn: controller
    rollback: echo undo
pipelines:
  roll:
    description: Everything
    ops: [build, local]
    hosts: "@web"
    rollout: { canary: 1, strategy: batches, batch: 50%, maxFailures: 1, pause: 10s }
  plain:
    ops: [local]
    rollout: { canary: "@canary", maxFailures: 10% }
`;

async function roundTrip(dir: string, file: string) {
  const { registry, readings } = await loadFleetFiles(file, { cwd: dir });
  const back = decodeRegistry(JSON.parse(JSON.stringify(encodeRegistry(registry))), readings);
  return { registry, back };
}

describe('the fleet cache', () => {
  for (const [name, files] of Object.entries<Record<string, string>>({
    'the demo fleet': { 'fleet.yaml': readFileSync(join(ROOT, 'fleet.yaml'), 'utf8') },
    'a fleet that sets every key': { 'fleet.yaml': EVERY_KEY },
    'a fleet with includes': {
      'fleet.yaml': `${EVERY_KEY}include: [more/*.yaml, extra.yaml]\n`,
      'more/b.yaml': 'hosts:\n  b-host: { tags: [db] }\n',
      'more/a.yaml': 'ops:\n  from-a: { run: echo a }\n',
      'extra.yaml': 'pipelines:\n  extra: { ops: [from-a] }\n',
    },
  })) {
    it(`gives back the registry the compiler built: ${name}`, async () => {
      const dir = makeTempDir(files);
      const { registry, back } = await roundTrip(dir, 'fleet.yaml');
      expect(back).toEqual(registry);
      for (const kind of ['hosts', 'ops', 'pipelines', 'secrets'] as const) {
        expect([...back[kind].keys()], kind).toEqual([...registry[kind].keys()]);
      }
      expect(back.hash).toBe(registry.hash);
      expect(back.hash).toMatch(/^[0-9a-f]{64}$/);
      expect(Object.isFrozen(back)).toBe(true);
      expect(back.files).toEqual(registry.files);
      expect(back.includeGlobs).toEqual(registry.includeGlobs);
      expect(Object.isFrozen(back.hosts.get([...back.hosts.keys()][0] ?? '')?.tags)).toBe(true);
    });
  }
});
