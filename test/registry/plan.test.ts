// CORE-005 and CORE-002: a plan is the target's ops as stages × the selected hosts, with every
// command rendered (values shell-quoted in command lines, literal in cwd and env) before anything runs.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/config/load.js';
import { buildPlan } from '../../src/engine/plan.js';
import { UserError } from '../../src/errors/user-error.js';
import { summarizeRegistry } from '../../src/registry/summary.js';
import { CONTROLLER_HOST_ID } from '../../src/registry/types.js';
import { makeTempDir } from '../support/cli.js';

const FLEET = `version: 1
settings: { defaultPipeline: deploy }
hosts:
  web1: { tags: [web], vars: { release: "v1 (final)", app-dir: /srv/web } }
  web2: { tags: [web], vars: { release: v2, app-dir: /srv/web } }
  db1:
    transport: ssh
    address: 10.0.0.9
    user: admin
    tags: [db]
    vars: { release: v1, app-dir: data }
ops:
  fetch:
    run: echo fetching {{ host.vars.release }} at {{ host.address }}
    precheck: test -n {{ host.name }}
    cwd: "{{ host.vars.app-dir }}"
    env: { RELEASE: "{{ host.vars.release }}", NIXFLEET_OP: spoofed }
  announce:
    runsOn: controller
    run: echo {{ pipeline.id }}/{{ op.id }}
  login:
    run: ssh {{ host.user }}@{{ host.address }} true
  restart:
    run: systemctl restart app
    postcheck: systemctl is-active app
pipelines:
  deploy:
    ops: [fetch, announce]
    hosts: "@web"
  everything:
    ops: [restart]
`;

async function registry() {
  const dir = makeTempDir({ 'fleet.yaml': FLEET });
  return { registry: await loadRegistry(join(dir, 'fleet.yaml')) };
}

function userErrorOf(fn: () => unknown): UserError {
  try {
    fn();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error('expected a UserError');
}

describe('buildPlan', () => {
  it('plans the default pipeline on its default hosts, one stage per op', async () => {
    const { registry: r } = await registry();
    const plan = buildPlan(r, undefined, undefined);
    expect(plan).toMatchObject({ target: 'deploy', targetKind: 'pipeline', selector: '@web', hosts: ['web1', 'web2'] });
    expect(plan.stages.map((s) => [s.index, s.op.id, s.commands.map((c) => c.hostId)])).toEqual([
      [0, 'fetch', ['web1', 'web2']],
      [1, 'announce', [CONTROLLER_HOST_ID]],
    ]);
    const web1 = plan.stages[0]!.commands[0]!.rendered;
    expect(web1).toEqual({
      run: "echo fetching 'v1 (final)' at web1",
      precheck: 'test -n web1',
      cwd: '/srv/web',
      env: {
        RELEASE: 'v1 (final)',
        NIXFLEET_OP: 'fetch',
        NIXFLEET_HOST: 'web1',
        NIXFLEET_PIPELINE: 'deploy',
        NIXFLEET_VAR_RELEASE: 'v1 (final)',
        NIXFLEET_VAR_APP_DIR: '/srv/web',
      },
    });
  });

  it('runs a controller op once, with the target hosts in NIXFLEET_HOSTS', async () => {
    const { registry: r } = await registry();
    const stage = buildPlan(r, 'deploy', undefined).stages[1]!;
    expect(stage.commands).toEqual([
      {
        hostId: CONTROLLER_HOST_ID,
        rendered: {
          run: 'echo deploy/announce',
          env: { NIXFLEET_OP: 'announce', NIXFLEET_PIPELINE: 'deploy', NIXFLEET_HOSTS: 'web1,web2' },
        },
      },
    ]);
  });

  it('gives a single op a one-stage plan on every host, with pipeline.id = the op id', async () => {
    const { registry: r } = await registry();
    const plan = buildPlan(r, 'announce', undefined);
    expect(plan).toMatchObject({ target: 'announce', targetKind: 'op', selector: '*', hosts: ['web1', 'web2', 'db1'] });
    expect(plan.stages[0]!.commands[0]!.rendered.run).toBe('echo announce/announce');
  });

  it('lets --on override the pipeline hosts; relative cwd resolves locally but not over ssh', async () => {
    const { registry: r } = await registry();
    const plan = buildPlan(r, 'fetch', 'db1,web2');
    expect(plan.hosts).toEqual(['web2', 'db1']);
    const db1 = plan.stages[0]!.commands[1]!.rendered;
    expect(db1.run).toBe('echo fetching v1 at 10.0.0.9');
    expect(db1.cwd).toBe('data');
    expect(buildPlan(r, 'fetch', 'web2').stages[0]!.commands[0]!.rendered.cwd).toBe('/srv/web');
  });

  it('keeps precheck and postcheck rendered beside the command', async () => {
    const { registry: r } = await registry();
    const rendered = buildPlan(r, 'everything', 'web1').stages[0]!.commands[0]!.rendered;
    expect(rendered).toMatchObject({ run: 'systemctl restart app', postcheck: 'systemctl is-active app' });
    expect(rendered.precheck).toBeUndefined();
  });

  it('refuses unknown targets, selectors that match nothing, and a missing default', async () => {
    const { registry: r } = await registry();
    expect(userErrorOf(() => buildPlan(r, 'deplyo', undefined))).toMatchObject({
      message: 'unknown pipeline or op `deplyo`',
      hint: 'did you mean `deploy`?',
      exitCode: 2,
    });
    expect(userErrorOf(() => buildPlan(r, 'deploy', '@web,!web*')).message).toBe(
      'selector `@web,!web*` matches no host',
    );
    const noDefault = { ...r, settings: { ...r.settings, defaultPipeline: undefined } };
    expect(userErrorOf(() => buildPlan(noDefault, undefined, undefined)).message).toMatch(/no target given/);
  });

  it('refuses to render a template for a host that lacks the value, before anything runs', async () => {
    const { registry: r } = await registry();
    // web1 has no `user`; the fleet is valid because no pipeline runs `login` on it by default.
    expect(buildPlan(r, 'login', 'db1').stages[0]!.commands[0]!.rendered.run).toBe('ssh admin@10.0.0.9 true');
    const error = userErrorOf(() => buildPlan(r, 'login', 'web1'));
    expect(error.message).toBe('op `login` uses `host.user`, which host `web1` does not define');
  });
});

describe('summarizeRegistry', () => {
  it('keeps ids, descriptions and selectors but no templates or host vars', async () => {
    const { registry: r } = await registry();
    const summary = summarizeRegistry(r);
    expect(summary.hosts[2]).toEqual({ id: 'db1', transport: 'ssh', address: '10.0.0.9', tags: ['db'] });
    expect(summary.ops.map((op) => [op.id, op.runsOn])).toEqual([
      ['fetch', 'host'],
      ['announce', 'controller'],
      ['login', 'host'],
      ['restart', 'host'],
    ]);
    expect(summary.pipelines[0]).toEqual({ id: 'deploy', ops: ['fetch', 'announce'], hosts: '@web' });
    expect(summary.defaultPipeline).toBe('deploy');
    expect(JSON.stringify(summary)).not.toContain('v1 (final)');
  });
});
