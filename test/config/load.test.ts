// CORE-005, loading and compiling: a real fleet file (and its includes) in a temp directory
// becomes a Registry with defaults applied, paths resolved and a content hash; every problem in
// every file is reported at once.
import { symlinkSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/config/load.js';
import { buildPlan } from '../../src/engine/plan.js';
import { ConfigErrors } from '../../src/errors/config-error.js';
import { makeTempDir } from '../support/cli.js';

const FLEET = `version: 1
settings:
  defaultPipeline: do-all
  ssh:
    identityFile: ~/.ssh/fleet
    connectTimeout: 3s
hosts:
  web1:
    tags: [web]
    vars: { role: web, port: 8080, debug: false }
  db1:
    transport: ssh
    address: 10.0.0.9
    user: deploy
    port: 2222
    identityFile: keys/db
include: [more/*.yaml]
ops:
  pull:
    run: git pull
    timeout: 90
    retryable: true
    retries: 2
pipelines:
  do-all:
    ops: [pull, test]
    hosts: ["@web", db1]
`;
const MORE = `ops:
  test:
    description: Run the tests
    run: make test
    runsOn: controller
    env: { CI: 1 }
`;

async function errorsOf(promise: Promise<unknown>) {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ConfigErrors) return error.errors;
    throw error;
  }
  throw new Error('expected ConfigErrors');
}

describe('loadRegistry compiles a valid fleet', () => {
  it('applies defaults, resolves paths and merges includes in file order', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET, 'more/tests.yaml': MORE });
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect(registry.file).toBe(join(dir, 'fleet.yaml'));
    expect(registry.rootDir).toBe(dir);
    expect(registry.files).toEqual([join(dir, 'fleet.yaml'), join(dir, 'more/tests.yaml')]);
    expect(registry.includeGlobs).toEqual([join(dir, 'more/*.yaml')]);
    expect(registry.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(registry.settings).toEqual({
      concurrency: 10,
      dataDir: join(dir, '.nixfleet'),
      shell: '/bin/sh',
      defaultPipeline: 'do-all',
      ssh: {
        identityFile: join(homedir(), '.ssh/fleet'),
        strictHostKeyChecking: 'accept-new',
        connectTimeoutMs: 3000,
        multiplex: true,
      },
    });
    expect([...registry.hosts.keys()]).toEqual(['web1', 'db1']);
    expect(registry.hosts.get('web1')).toMatchObject({
      transport: 'local',
      address: 'web1',
      vars: { role: 'web', port: '8080', debug: 'false' },
      source: { file: join(dir, 'fleet.yaml'), line: 8, column: 3 },
    });
    expect(registry.hosts.get('db1')).toMatchObject({ user: 'deploy', port: 2222, identityFile: join(dir, 'keys/db') });
    expect(registry.ops.get('pull')).toMatchObject({ timeoutMs: 90_000, retryable: true, retries: 2, runsOn: 'host' });
    expect(registry.ops.get('test')).toMatchObject({
      runsOn: 'controller',
      timeoutMs: 600_000,
      env: { CI: '1' },
      source: { file: join(dir, 'more/tests.yaml'), line: 2, column: 3 },
    });
    expect(registry.pipelines.get('do-all')).toMatchObject({ ops: ['pull', 'test'], hosts: '@web,db1' });
    expect(Object.isFrozen(registry)).toBe(true);
  });

  it('keeps ids that read as integers where the file wrote them, so the canary is the first host written', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
include: [more.yaml]
hosts:
  canary-box: {}
  "20": {}
  10: {}
  007: {}
ops:
  b: { run: "true" }
  "2": { run: "true" }
pipelines:
  deploy: { ops: [b, "2"], rollout: { canary: 1, batch: 1 } }
`,
      'more.yaml': 'hosts:\n  web: {}\n  "3": {}\n',
    });
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect([...registry.hosts.keys()]).toEqual(['canary-box', '20', '10', '007', 'web', '3']);
    expect([...registry.ops.keys()]).toEqual(['b', '2']);
    const plan = buildPlan(registry, 'deploy', undefined);
    expect(plan.hosts).toEqual(['canary-box', '20', '10', '007', 'web', '3']);
    expect(plan.rollout?.canary).toEqual(['canary-box']);
  });

  it('takes a rollout amount written in quotes (`"3"`) as the number, as durations do', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { a: {}, b: {} }
ops: { go: { run: "true" } }
pipelines:
  deploy: { ops: [go], rollout: { batch: "3", maxFailures: "0" } }
  half: { ops: [go], rollout: { batch: "50%" } }
`,
    });
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect(registry.pipelines.get('deploy')?.rollout).toMatchObject({ batch: { count: 3 }, maxFailures: { count: 0 } });
    expect(registry.pipelines.get('half')?.rollout).toMatchObject({ batch: { percent: 50 } });
  });

  it('reads each file once by its real path: a link back up under an include glob is not the main file again', async () => {
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\ninclude: ["ops/**/*.yaml"]\nhosts:\n  h1: {}\npipelines:\n  default: { ops: [a] }\n',
      'ops/a.yaml': 'ops:\n  a:\n    run: "true"\n',
    });
    symlinkSync('..', join(dir, 'ops/up'));
    symlinkSync('a.yaml', join(dir, 'ops/same.yaml'));
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect(registry.files).toEqual([join(dir, 'fleet.yaml'), join(dir, 'ops/a.yaml')]);
    expect([...registry.ops.keys()]).toEqual(['a']);
  });

  it('changes the hash when any file changes, and keeps it when nothing does', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET, 'more/tests.yaml': MORE });
    const first = await loadRegistry(join(dir, 'fleet.yaml'));
    expect((await loadRegistry(join(dir, 'fleet.yaml'))).hash).toBe(first.hash);
    writeFileSync(join(dir, 'more/tests.yaml'), MORE.replace('make test', 'make check'));
    expect((await loadRegistry(join(dir, 'fleet.yaml'))).hash).not.toBe(first.hash);
  });

  it('lets options.dataDir override settings.dataDir, relative to options.cwd', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nsettings: { dataDir: state }\n' });
    expect((await loadRegistry('fleet.yaml', { cwd: dir })).settings.dataDir).toBe(join(dir, 'state'));
    expect((await loadRegistry('fleet.yaml', { cwd: dir, dataDir: 'elsewhere' })).settings.dataDir).toBe(
      join(dir, 'elsewhere'),
    );
  });

  it('accepts a host written with no fields at all', async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1:\n' });
    expect((await loadRegistry(join(dir, 'fleet.yaml'))).hosts.get('web1')?.transport).toBe('local');
  });
});

describe('names and text as written', () => {
  it('keeps a key that YAML reads as a number or boolean, and var and env values, as written', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
settings: { concurrency: 0x10 }
hosts:
  007: { transport: ssh, vars: { v: 1.10, hex: 0x10, big: 12345678901234567890, on: true, n: 5, q: "1.10" } }
  1e3: {}
  true: {}
ops:
  deploy:
    run: echo "$V"
    env: { V: 2.50 }
`,
    });
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect([...registry.hosts.keys()]).toEqual(['007', '1e3', 'true']);
    // An ssh host's address defaults to its name: `007`, not `7`.
    expect(registry.hosts.get('007')).toMatchObject({
      address: '007',
      vars: { v: '1.10', hex: '0x10', big: '12345678901234567890', on: 'true', n: '5', q: '1.10' },
    });
    const deploy = registry.ops.get('deploy')!;
    expect(JSON.stringify(deploy.env.V)).toContain('2.50');
    // Other values keep their YAML type.
    expect(registry.settings.concurrency).toBe(16);
  });

  it('takes keys written `007` and `7`, or `1e3` and `1000`, for two names, not one written twice', async () => {
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\nhosts:\n  007: {}\n  7: {}\n  1e3: {}\n  1000: {}\n',
    });
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect([...registry.hosts.keys()].sort()).toEqual(['007', '1000', '1e3', '7']);
  });
});

describe('x- keys', () => {
  it('are ignored at the top of the main file and of includes, a place for anchors to merge', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
x-defaults: &defaults { tags: [web], vars: { role: web } }
hosts:
  web1: { <<: *defaults }
include: [more.yaml]
`,
      'more.yaml': `x-env: &env { A: one }
ops:
  deploy: { run: echo "$A", env: *env }
`,
    });
    const registry = await loadRegistry(join(dir, 'fleet.yaml'));
    expect(registry.hosts.get('web1')).toMatchObject({ tags: ['web'], vars: { role: 'web' } });
    expect(JSON.stringify(registry.ops.get('deploy')!.env.A)).toContain('one');
    const typo = makeTempDir({ 'fleet.yaml': 'version: 1\nxdefaults: {}\n' });
    await expect(loadRegistry(join(typo, 'fleet.yaml'))).rejects.toThrow(/and x-NAME for YAML anchors/);
  });
});

describe('loadRegistry reports every problem at once', () => {
  it('collects schema errors from the main file and from includes, in file order', async () => {
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\ninclude: [b.yaml]\nsettings:\n  concurrency: 0\n',
      'b.yaml': 'ops:\n  x:\n    run: ok\n    timeout: soon\n',
    });
    const errors = await errorsOf(loadRegistry('fleet.yaml', { cwd: dir }));
    expect(errors.map((e) => `${e.file}:${e.line}:${e.column}: ${e.path}`)).toEqual([
      'fleet.yaml:4:16: settings.concurrency',
      'b.yaml:4:14: ops.x.timeout',
    ]);
  });

  it('reports a missing fleet file with a hint to create one', async () => {
    const dir = makeTempDir();
    const errors = await errorsOf(loadRegistry('fleet.yaml', { cwd: dir }));
    expect(errors).toEqual([
      {
        file: 'fleet.yaml',
        line: 0,
        column: 0,
        path: '',
        message: 'fleet file not found',
        hint: 'create one with `nixfleet init`, or pass `-f FILE`',
      },
    ]);
  });

  it('does not compile a fleet with semantic errors, and names each one', async () => {
    const dir = makeTempDir({
      'fleet.yaml': [
        'version: 1',
        'hosts:',
        '  web1: { tags: [web] }',
        'ops:',
        '  a: { run: "echo {{ host.vars.nope }}" }',
        'pipelines:',
        '  p: { ops: [a, b], hosts: "@db" }',
      ].join('\n'),
    });
    const errors = await errorsOf(loadRegistry('fleet.yaml', { cwd: dir }));
    expect(errors.map((e) => [e.line, e.column, e.message])).toEqual([
      [5, 19, 'unknown template name `host.vars.nope`: no host defines `vars.nope`'],
      [7, 17, 'unknown op `b` in pipeline `p`'],
      [7, 28, 'unknown tag `@db`'],
    ]);
  });

  it('points at a placeholder inside a double-quoted, escaped scalar', async () => {
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\nhosts: { web1: {} }\nops:\n  a:\n    run: "printf \\"%s\\\\n\\" {{ op.idd }}"\n',
    });
    const errors = await errorsOf(loadRegistry('fleet.yaml', { cwd: dir }));
    expect(errors.map((e) => [e.line, e.column, e.message])).toEqual([[5, 28, 'unknown template name `op.idd`']]);
  });

  it('allows a host var to be missing on hosts no pipeline runs the op on by default', async () => {
    const dir = makeTempDir({
      'fleet.yaml': [
        'version: 1',
        'hosts:',
        '  web1: { tags: [web], vars: { role: web } }',
        '  db1: {}',
        'ops:',
        '  a: { run: "echo {{ host.vars.role }}" }',
        'pipelines:',
        '  p: { ops: [a], hosts: "@web" }',
      ].join('\n'),
    });
    expect((await loadRegistry('fleet.yaml', { cwd: dir })).ops.has('a')).toBe(true);
  });
});
