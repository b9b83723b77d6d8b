// Output that cannot be written (see CORE-002): a reader that closes its end of the pipe early
// (`nixfleet runs | head -1`) and a full disk (/dev/full). The command drops what is left to
// print, with no stack trace, and finishes as it would; an apply still runs every command. Output
// sent to /dev/null, or nowhere (`>&-`, which Node turns into /dev/null), is no failure at all.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, makeTempDir, runCli } from '../support/cli.js';

const FLEET = `version: 1
hosts:
  web1: {}
  web2: {}
ops:
  hello: { run: 'for i in 1 2 3 4 5 6 7 8 9 10; do echo line $i of {{ host.name }}; done' }
  again: { run: 'echo again {{ host.name }}' }
pipelines:
  greet: { ops: [hello, again] }
`;

/**
 * Runs the CLI with its stdout sent `to` a shell redirection: `| true` (a reader that exits
 * without reading a byte) or `>/dev/full` (where every write fails with ENOSPC).
 */
async function withStdout(dir: string, args: readonly string[], to: string): Promise<{ code: number; stderr: string }> {
  const quoted = [BIN, ...args].map((a) => `'${a}'`).join(' ');
  await execa('sh', ['-c', `{ node ${quoted} 2>err.txt; echo $? >code.txt; } ${to}`], {
    cwd: dir,
    env: { CI: 'true', NO_COLOR: '1' },
    timeout: 60_000,
  });
  return {
    code: Number(readFileSync(join(dir, 'code.txt'), 'utf8')),
    stderr: readFileSync(join(dir, 'err.txt'), 'utf8'),
  };
}
const withClosedStdout = (dir: string, args: readonly string[]) => withStdout(dir, args, '| true');
/** Started with no stdout at all: Node puts /dev/null, opened read-write, in its place. */
const withoutStdout = (dir: string, args: readonly string[]) => withStdout(dir, args, '>&-');
const withFullStdout = (dir: string, args: readonly string[]) => withStdout(dir, args, '>/dev/full');

describe('stdout closed by its reader', { timeout: 120_000 }, () => {
  it('apply runs every command and exits 0; runs, show and logs exit as they would, without a stack trace', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const applied = await withClosedStdout(dir, ['apply', 'greet', '--renderer', 'plain']);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const shown = await runCli(dir, ['show', 'r1', '--json']);
    const { run, commands } = JSON.parse(shown.stdout);
    expect(run.status).toBe('COMPLETE');
    expect(commands.map((c: { status: string }) => c.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    for (const args of [['runs'], ['show', 'r1'], ['logs', 'r1'], ['--help']]) {
      const result = await withClosedStdout(dir, args);
      expect(result.stderr, args[0]).toBe('');
      expect(result.code, args[0]).toBe(0);
    }
  });

  it('on a full disk, apply still runs and journals everything; stderr says stdout failed, and exit 0 becomes 1', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const applied = await withFullStdout(dir, ['apply', 'greet', '--renderer', 'plain']);
    const note =
      "nixfleet: cannot write to stdout (ENOSPC); the rest of it is dropped, and the journal keeps every command's output\n";
    expect(applied.stderr).toBe(note);
    expect(applied.code).toBe(1);
    const { run, commands } = JSON.parse((await runCli(dir, ['show', 'r1', '--json'])).stdout);
    expect(run.status).toBe('COMPLETE');
    expect(commands.map((c: { status: string }) => c.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    const listed = await withFullStdout(dir, ['runs', '--json']);
    expect(listed).toEqual({ code: 1, stderr: note });
  });
});

/**
 * Started by Node with stdout discarded (`stdio: 'ignore'`: libuv opens /dev/null read-write for
 * it) and stderr piped, as a script that wants only the exit code and the errors does.
 */
async function withStdoutIgnored(dir: string, args: readonly string[]): Promise<{ code: number; stderr: string }> {
  const result = await execa('node', [BIN, ...args], {
    cwd: dir,
    stdout: 'ignore',
    reject: false,
    env: { CI: 'true', NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { code: result.exitCode ?? -1, stderr: result.stderr };
}

describe('stdout on /dev/null or closed: the command runs and exits as it would', { timeout: 120_000 }, () => {
  const journaled = async (dir: string, runId: string) => {
    const { run, commands } = JSON.parse((await runCli(dir, ['show', runId, '--json'])).stdout);
    expect(run.status).toBe('COMPLETE');
    expect(commands.map((c: { status: string }) => c.status)).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
  };

  it("discarded by a program (Node's stdio 'ignore'): apply and every command that only reads exit 0, nothing on stderr", async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    expect(await withStdoutIgnored(dir, ['apply', 'greet', '--renderer', 'plain'])).toEqual({ code: 0, stderr: '' });
    await journaled(dir, 'r1');
    const reads = [
      ['runs'],
      ['runs', '--json'],
      ['show', 'r1'],
      ['logs', 'r1'],
      ['list'],
      ['plan', 'greet'],
      ['validate'],
      ['--help'],
      ['help', 'runs'],
      ['--version'],
    ];
    for (const args of reads) {
      expect(await withStdoutIgnored(dir, args), args.join(' ')).toEqual({ code: 0, stderr: '' });
    }
  });

  it('closed (>&-), a /dev/null the user chose, or every stream on /dev/null read-write: exit 0, nothing on stderr', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    expect(await withoutStdout(dir, ['apply', 'greet', '--renderer', 'plain'])).toEqual({ code: 0, stderr: '' });
    await journaled(dir, 'r1');
    expect(await withoutStdout(dir, ['list'])).toEqual({ code: 0, stderr: '' });
    expect(await withStdout(dir, ['list'], '>/dev/null')).toEqual({ code: 0, stderr: '' });
    // As Python's subprocess.DEVNULL gives it: stdout alone on /dev/null opened read-write.
    expect(await withStdout(dir, ['list'], '1<>/dev/null')).toEqual({ code: 0, stderr: '' });
    // As a daemon gives its children every standard stream: /dev/null opened read-write, stderr too.
    const quoted = [BIN, 'list'].map((a) => `'${a}'`).join(' ');
    const daemonLike = await execa('sh', ['-c', `node ${quoted} 1<>/dev/null 2<>/dev/null`], {
      cwd: dir,
      reject: false,
      env: { CI: 'true', NO_COLOR: '1' },
    });
    expect(daemonLike.exitCode).toBe(0);
  });
});
