// CORE-012: the password of a `--store` URL is not left on nixfleet's command line, which every
// user of the machine can read (`ps`, /proc/PID/cmdline), for as long as the command runs; the
// journal's URL is rewritten there with the password as `***`, as nixfleet's messages show it.
import { readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, spawnCli } from '../support/cli.js';
import { freshDatabaseUrl } from '../support/postgres.js';

const PASSWORD = 'pw-7d1e0b9c4a2f';

it.each([
  ['--store URL', (url: string) => ['--store', url]],
  ['--store=URL', (url: string) => [`--store=${url}`]],
])('`%s`: the password is not on the command line while the command runs', async (_form, flag) => {
  const dir = makeTempDir({
    'fleet.yaml': 'version: 1\nhosts:\n  h1: {}\nops:\n  held: { run: "touch started; sleep 3" }\n',
  });
  // The test server trusts local connections, so any password reaches it and is ignored.
  const url = new URL(freshDatabaseUrl());
  url.password = PASSWORD;
  const apply = spawnCli(dir, [...flag(url.toString()), 'apply', 'held']);
  await waitForFile(`${dir}/started`, 30_000);
  const line = readFileSync(`/proc/${apply.pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  const result = await apply;
  expect(result.exitCode, String(result.stderr)).toBe(0);
  expect(line).not.toContain(PASSWORD);
  expect(line).toContain(`postgres://postgres:***@`);
  expect(line).toContain('apply held');
});
