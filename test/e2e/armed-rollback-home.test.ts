// CORE-009: an armed rollback's timer keeps the rollback it will run in a directory under $HOME.
// With HOME unset it used `/tmp/.nixfleet/armed`, where another user of the host can own
// `.nixfleet` or `armed` first: the timer's directory is then theirs to rename and replace with
// one holding a rollback of their own, which the timer runs as the deploying user when it fires.
// Arming now refuses a HOME that is not an absolute path, and the op does not run.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

const FLEET = `version: 1
hosts:
  h1: {}
ops:
  home-check-switch:
    run: touch ran-the-op
    rollback:
      run: echo undone
      armed: 30s
`;

it.each([
  ['unset', undefined],
  ['empty', ''],
  ['relative', 'home'],
])('with HOME %s, arming is refused and the op never runs', async (_name, home) => {
  const dir = makeTempDir({ 'fleet.yaml': FLEET, 'home/.keep': '' });
  const apply = await runCli(dir, ['--json', 'apply', 'home-check-switch'], { env: { HOME: home } });
  expect(apply.exitCode, apply.stderr).toBe(1);
  expect(existsSync(join(dir, 'ran-the-op'))).toBe(false);
  const report = JSON.parse(apply.stdout);
  expect(report.hosts.h1[0]).toMatchObject({ op: 'home-check-switch', status: 'ERROR' });
  expect(report.hosts.h1[0].error).toBe(
    'could not arm the rollback timer: exit code 1: HOME is not an absolute path on this host; the timer needs a private directory under it',
  );
  expect(existsSync(join(dir, 'home/.nixfleet'))).toBe(false);
});

it('with HOME set, the timer is armed under it and disarmed after the op', async () => {
  const dir = makeTempDir({ 'fleet.yaml': FLEET, 'home/.keep': '' });
  const apply = await runCli(dir, ['apply', 'home-check-switch'], { env: { HOME: join(dir, 'home') } });
  expect(apply.exitCode, apply.stderr).toBe(0);
  expect(existsSync(join(dir, 'ran-the-op'))).toBe(true);
  expect(existsSync(join(dir, 'home/.nixfleet/armed'))).toBe(true);
});
