// `logs` of outputs larger than a process should hold (CORE-002): the journal's output is written
// to stdout piece by piece, as text or inside the --json strings. Run with V8's heap capped far
// below the output's size, reading it whole fails; and JSON.stringify of one string past about
// 512 MB fails in any heap. A multi-byte character split between pieces stays whole.
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { BIN, makeTempDir, runCli } from '../support/cli.js';

// The `é` after them straddles the 46th MiB: `logs` reads the journal 1 MiB at a time.
const BYTES = 46 * 1024 * 1024 - 1 - '\ncaf'.length;

it('streams a 46 MiB output per host through logs and logs --json with a 32 MB heap', {
  timeout: 120_000,
}, async () => {
  const dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {} }
ops:
  big: { run: 'head -c ${BYTES} /dev/zero | tr "\\\\0" x; printf "\\\\ncaf\\\\303\\\\251 end\\\\n"; exit 1' }
`,
  });
  const applied = await runCli(dir, ['apply', 'big']);
  expect(applied.exitCode, applied.stderr).toBe(1);
  const logs = async (args: string[], file: string) => {
    const path = join(dir, file);
    const result = await execa('node', ['--max-old-space-size=32', BIN, ...args], {
      cwd: dir,
      reject: false,
      stdout: { file: path },
      env: { CI: 'true', NO_COLOR: '1' },
    });
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stderr)).toBe('');
    return path;
  };
  const expected = `${'x'.repeat(BYTES)}\ncafé end\n`;

  const text = await logs(['logs', 'r1'], 'r1.txt');
  expect(statSync(text).size).toBe(2 * (Buffer.byteLength(expected) + '==> c1 [h1] big ERROR <==\n'.length));
  const json = JSON.parse(readFileSync(await logs(['logs', 'r1', '--json'], 'r1.json'), 'utf8'));
  expect(json.map((e: { commandId: string; hostId: string }) => [e.commandId, e.hostId])).toEqual([
    ['c1', 'h1'],
    ['c2', 'h2'],
  ]);
  expect(json[1]).toEqual({
    commandId: 'c2',
    hostId: 'h2',
    op: 'big',
    status: 'ERROR',
    rollbackOf: null,
    output: expected,
  });
  const one = JSON.parse(readFileSync(await logs(['logs', 'c1', '--json'], 'c1.json'), 'utf8'));
  expect(one.output).toBe(expected);
});

// On a terminal `logs` holds back an escape sequence cut by a piece's end until the next piece
// (CORE-002). One that never ends, `ESC [` and 46 MiB of digits, was held whole, piece after
// piece: with the same 32 MB heap `logs` ran out of memory and aborted.
it('on a terminal, streams an output that is one endless escape sequence with a 32 MB heap', {
  timeout: 120_000,
}, async () => {
  const digits = 46 * 1024 * 1024;
  const dir = makeTempDir({
    'fleet.yaml': `version: 1
hosts: { h1: {} }
ops:
  esc: { run: 'printf "\\\\033["; head -c ${digits} /dev/zero | tr "\\\\0" 7; printf "m\\\\nafter\\\\n"' }
`,
  });
  const applied = await runCli(dir, ['apply', 'esc']);
  expect(applied.exitCode, applied.stderr).toBe(0);
  // script(1) gives `logs` a terminal; what it writes there comes back on script's stdout.
  const shown = await execa('script', ['-qec', `exec node --max-old-space-size=32 ${BIN} logs c1`, '/dev/null'], {
    cwd: dir,
    reject: false,
    env: { NO_COLOR: '1', CI: undefined, GITHUB_ACTIONS: undefined },
    timeout: 110_000,
  });
  expect(shown.exitCode, String(shown.stderr)).toBe(0);
  const text = String(shown.stdout).replaceAll('\r\n', '\n');
  // Every character is shown: the ESC as \x1b, then the rest as text, no escape reaching the terminal.
  expect(text.length).toBe('\\x1b['.length + digits + 'm\nafter'.length);
  expect(text.startsWith('\\x1b[777')).toBe(true);
  expect(text.endsWith('777m\nafter')).toBe(true);
  expect(text).not.toContain('\u001b');
});
