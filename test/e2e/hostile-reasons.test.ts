// A failure's reason can carry what a host value holds (here a templated `cwd` that does not
// exist): line breaks, escape sequences, a GitHub workflow command. Every output keeps it on one
// line and clean (CORE-001: a one-line reason; CORE-002: plain output has no escape codes and no
// line of it starts with `::`).
import { expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

const HOSTILE = '/nonexist\\n::warning title=injected::pwned\\n\\u001b[2J\\u001b]0;TITLE\\u0007end';

it('a reason from a host value stays one clean line in plain, GitHub, JSON and show output', async () => {
  const dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts:
  h1: { vars: { d: "${HOSTILE}" } }
ops:
  a: { run: 'echo working', cwd: '{{ host.vars.d }}' }
`,
  });
  const plain = await runCli(dir, ['apply', 'a'], { env: { GITHUB_ACTIONS: 'true' } });
  expect(plain.exitCode).toBe(1);
  const lines = plain.stdout.split('\n');
  expect(lines.filter((line) => line.startsWith('::') && !/^::(group|endgroup|error)/.test(line))).toEqual([]);
  expect(plain.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f]/);
  const failure = lines.find((line) => line.startsWith('[h1] a ERROR'));
  expect(failure).toContain('/nonexist; ::warning title=injected::pwned; end');

  const json = await runCli(dir, ['apply', 'a', '--json']);
  const error = JSON.parse(json.stdout).hosts.h1[0].error as string;
  expect(error).toContain('/nonexist; ::warning title=injected::pwned; end');
  expect(error).not.toMatch(/[\u0000-\u001f]/);

  const show = await runCli(dir, ['show', 'r1']);
  expect(show.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  expect(show.stdout.split('\n').filter((line) => line.includes('pwned'))).toHaveLength(1);
});
