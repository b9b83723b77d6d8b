// CORE-001 and CORE-012: the commands nixfleet starts do not inherit `$NIXFLEET_DATABASE_URL`, which
// names the shared journal with its password; printed by a command, it would be in output that
// every reader of the journal sees. Nor do secret commands (CORE-010). Nor `$PGPASSWORD`, when the
// journal logged in with it: it is then the same password.
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { freshDatabaseUrl } from '../support/postgres.js';
import { PASSWORD_ROLE, ROLE_PASSWORD } from '../support/postgres-server.js';

// Both spawners: Perl's where perl is on PATH, Node's where it is not.
it.each([
  ['Perl', ['perl']],
  ['Node', []],
])(
  "through the %s spawner, a local command and a controller op run without the journal's URL, with the rest of nixfleet's environment",
  async (_name, extra) => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts:
  h1: {}
ops:
  env-on-host: { run: 'echo "url=\${NIXFLEET_DATABASE_URL-unset} kept=\${KEPT_FOR_COMMANDS-lost} host=$NIXFLEET_HOST"' }
  env-on-controller:
    run: 'echo "url=\${NIXFLEET_DATABASE_URL-unset} kept=\${KEPT_FOR_COMMANDS-lost}"'
    runsOn: controller
  with-secret: { run: 'test -n "$P" && echo secret-read', env: { P: '{{ secret.probe }}' } }
secrets:
  # CORE-010: a secret command starts from the same environment as every command.
  probe: { command: 'echo "url=\${NIXFLEET_DATABASE_URL-unset} kept=\${KEPT_FOR_COMMANDS-lost}" > secret-env; echo long-enough-value' }
pipelines:
  both: { ops: [env-on-host, env-on-controller, with-secret] }
`,
    });
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const name of ['sh', ...extra]) symlinkSync(`/usr/bin/${name}`, join(bin, name));
    symlinkSync(process.execPath, join(bin, 'node'));
    const env = { NIXFLEET_DATABASE_URL: freshDatabaseUrl(), KEPT_FOR_COMMANDS: 'yes', PATH: bin };
    const apply = await runCli(dir, ['apply', 'both'], { env });
    expect(apply.exitCode, apply.stderr).toBe(0);
    const logs = await runCli(dir, ['logs', 'r1'], { env });
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toContain('url=unset kept=yes host=h1');
    expect(logs.stdout.match(/url=unset kept=yes/g)).toHaveLength(2);
    expect(logs.stdout).not.toContain(env.NIXFLEET_DATABASE_URL);
    expect(logs.stdout).toContain('secret-read');
    expect(readFileSync(join(dir, 'secret-env'), 'utf8')).toBe('url=unset kept=yes\n');
  },
);

it('a journal that logged in with $PGPASSWORD keeps it from the commands; one with its own password, or asked none, leaves it to them', async () => {
  const dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts:
  h1: {}
ops:
  on-host: { run: 'echo "pw=\${PGPASSWORD-unset} kept=\${KEPT_FOR_COMMANDS-lost}"' }
  on-controller: { run: 'echo "pw=\${PGPASSWORD-unset}"', runsOn: controller }
pipelines:
  both: { ops: [on-host, on-controller] }
`,
  });
  const url = new URL(freshDatabaseUrl());
  url.username = PASSWORD_ROLE;
  const env = { NIXFLEET_DATABASE_URL: url.toString(), PGPASSWORD: ROLE_PASSWORD, KEPT_FOR_COMMANDS: 'yes' };
  const apply = await runCli(dir, ['apply', 'both'], { env });
  expect(apply.exitCode, apply.stderr).toBe(0);
  const logs = await runCli(dir, ['logs', 'r1'], { env });
  expect(logs.exitCode, logs.stderr).toBe(0);
  expect(logs.stdout).toContain('pw=unset kept=yes');
  expect(logs.stdout.match(/pw=unset/g)).toHaveLength(2);
  expect(logs.stdout).not.toContain(ROLE_PASSWORD);
  // With the password in the URL, $PGPASSWORD is not nixfleet's: the commands keep it.
  url.password = ROLE_PASSWORD;
  const own = { ...env, NIXFLEET_DATABASE_URL: url.toString(), PGPASSWORD: 'for-the-commands' };
  expect((await runCli(dir, ['apply', 'on-host'], { env: own })).exitCode).toBe(0);
  expect((await runCli(dir, ['logs', 'r2'], { env: own })).stdout).toContain('pw=for-the-commands kept=yes');
  // Nor when the server asks for no password (trust, as for the test server's other roles).
  const trusted = { ...own, NIXFLEET_DATABASE_URL: freshDatabaseUrl() };
  expect((await runCli(dir, ['apply', 'on-host'], { env: trusted })).exitCode).toBe(0);
  expect((await runCli(dir, ['logs', 'r1'], { env: trusted })).stdout).toContain('pw=for-the-commands kept=yes');
});
