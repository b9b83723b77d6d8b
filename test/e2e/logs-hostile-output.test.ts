// `logs` prints what hosts printed, and a host is not trusted with the reader's terminal or CI
// runner (CORE-002, `logs`): into a file the bytes stay as stored; on a terminal control
// characters are shown as `\xNN` (colours kept only when colours are on); under GitHub Actions
// no line of the output is taken for a workflow command.
import { beforeAll, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { runInPty } from '../support/pty-screen.js';

// An OSC title, a clear-screen, a colour, a CRLF line end, workflow commands (one indented, one
// after a lone CR, which the runner also reads as a line end) and a tab.
const OUTPUT =
  '\u001b]0;title\u0007 \u001b[2J\u001b[31mred\u001b[0m\r\n::error::pwned\n  ::stop-commands::x\nok\r::warning::cr\n\ttab\n';
let dir: string;

beforeAll(async () => {
  dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts: { h1: {} }
ops:
  o: { run: "printf '\\\\033]0;title\\\\007 \\\\033[2J\\\\033[31mred\\\\033[0m\\\\r\\\\n::error::pwned\\\\n  ::stop-commands::x\\\\nok\\\\r::warning::cr\\\\n\\\\ttab\\\\n'" }
`,
  });
  const applied = await runCli(dir, ['apply', 'o']);
  expect(applied.exitCode, applied.stderr).toBe(0);
});

it('writes the stored bytes as they are into a file or a pipe', async () => {
  expect((await runCli(dir, ['logs', 'c1'])).stdout).toBe(OUTPUT.slice(0, -1));
  expect((await runCli(dir, ['logs', 'r1'])).stdout).toBe(`==> c1 [h1] o SUCCESS <==\n${OUTPUT.slice(0, -1)}`);
});

/** The workflow commands GitHub's runner would act on in `log`, the way it reads a step's log. */
function workflowCommands(log: string): string[] {
  const acted: string[] = [];
  let stopToken: string | undefined;
  for (const line of log.split(/\r\n|\r|\n/)) {
    if (stopToken !== undefined) {
      if (line === `::${stopToken}::`) stopToken = undefined;
      continue;
    }
    const trimmed = line.trimStart();
    if (!trimmed.startsWith('::') && !trimmed.startsWith('##[')) continue;
    acted.push(trimmed);
    const stop = /^::stop-commands::(.+)$/.exec(trimmed);
    if (stop) stopToken = stop[1];
  }
  return acted;
}

it('under GitHub Actions, wraps the output in ::stop-commands:: so none of its lines is a workflow command', async () => {
  for (const id of ['r1', 'c1']) {
    const { stdout, exitCode } = await runCli(dir, ['logs', id], { env: { GITHUB_ACTIONS: 'true' } });
    expect(exitCode).toBe(0);
    const acted = workflowCommands(stdout);
    expect(acted).toHaveLength(1);
    expect(acted[0]).toMatch(/^::stop-commands::[0-9a-f]{32}$/);
    const token = acted[0]!.slice('::stop-commands::'.length);
    // Between the two, the output as stored (and the line break the resuming line needs).
    expect(stdout.endsWith(`${OUTPUT}::${token}::`)).toBe(true);
  }
  // A new token each time: one read from an earlier log cannot resume commands.
  const tokens = await Promise.all(
    [1, 2].map(
      async () => (await runCli(dir, ['logs', 'c1'], { env: { GITHUB_ACTIONS: 'true' } })).stdout.split('\n')[0],
    ),
  );
  expect(tokens[0]).not.toBe(tokens[1]);
});

it('on a terminal, shows control characters as \\xNN and keeps colours only when colours are on', async () => {
  const plain = runInPty(dir, ['logs', 'r1'], { rows: 24, columns: 100 });
  expect((await plain.done).exitCode).toBe(0);
  // NO_COLOR: not one escape sequence or bell reaches the terminal.
  expect(plain.raw()).not.toMatch(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/);
  expect(await plain.historyLines()).toEqual([
    '==> c1 [h1] o SUCCESS <==',
    '\\x1b]0;title\\x07 \\x1b[2Jred',
    '::error::pwned',
    '  ::stop-commands::x',
    'ok\\x0d::warning::cr',
    '        tab',
    ...Array(18).fill(''),
  ]);

  const coloured = runInPty(dir, ['logs', 'c1'], { rows: 24, columns: 100 }, { NO_COLOR: undefined });
  expect((await coloured.done).exitCode).toBe(0);
  expect(coloured.raw()).toContain('\\x1b]0;title\\x07 \\x1b[2J\u001b[31mred\u001b[0m');
  // Colours are the only escape sequences, and they are reset once the output ends.
  expect(coloured.raw().replace(/\u001b\[[0-9;]*m/g, '')).not.toMatch(/\u001b/);
  expect(coloured.raw().endsWith('\u001b[0m')).toBe(true);

  const noColor = runInPty(dir, ['logs', 'c1', '--no-color'], { rows: 24, columns: 100 }, { NO_COLOR: undefined });
  expect((await noColor.done).exitCode).toBe(0);
  expect(noColor.raw()).not.toMatch(/\u001b/);
});
