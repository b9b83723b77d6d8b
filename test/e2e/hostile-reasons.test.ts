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

it('`plan` and `list` show a fleet value’s control characters as \\xNN instead of sending them to the terminal', async () => {
  const dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts:
  h1: { vars: { motd: "hi\\u001b[2Jthere" } }
ops:
  greet:
    description: "say \\u001b]0;TITLE\\u0007 hi"
    run: "echo {{ host.vars.motd }}\\r\\u001b[31mred"
pipelines:
  deploy: { ops: [greet] }
`,
  });
  const plan = await runCli(dir, ['plan', 'deploy']);
  expect(plan.exitCode).toBe(0);
  expect(plan.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  expect(plan.stdout).toContain('greet: say \\x1b]0;TITLE\\x07 hi');
  expect(plan.stdout).toContain("$ echo 'hi\\x1b[2Jthere'\\x0d\\x1b[31mred");
  // What runs is the value itself, as --json shows it.
  const json = JSON.parse((await runCli(dir, ['plan', 'deploy', '--json'])).stdout);
  expect(json.stages[0].commands[0].run).toBe("echo 'hi\u001b[2Jthere'\r\u001b[31mred");

  const list = await runCli(dir, ['list', 'ops']);
  expect(list.exitCode).toBe(0);
  expect(list.stdout).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/);
  expect(list.stdout).toContain('say \\x1b]0;TITLE\\x07 hi');
});
