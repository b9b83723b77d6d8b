import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { createLocalTransport, KILL_GRACE_MS } from '../../src/engine/transports/local.js';
import { makeTempDir } from '../support/cli.js';
import { waitForPid } from './support/wait-for.js';

const transportIn = (cwd: string) => createLocalTransport({ shell: '/bin/sh', cwd });

describe('the local transport', () => {
  it('runs in the root directory (or the op cwd under it) with the given environment, output interleaved in order', async () => {
    const dir = makeTempDir({ 'sub/marker': '' });
    let output = '';
    const result = await transportIn(dir).exec('pwd; echo out; echo err >&2; echo "$GREETING"; exit 3', {
      env: { GREETING: 'hi there' },
      timeoutMs: 5000,
      onOutput: (chunk) => {
        output += chunk;
      },
      cwd: 'sub',
    });
    expect(result).toEqual({ exitCode: 3, signal: null, timedOut: false, aborted: false });
    expect(output).toBe(`${join(dir, 'sub')}\nout\nerr\nhi there\n`);
  });

  it('a shell killed by a signal ends with no exit code and the signal by name; output arrives as the bytes written', async () => {
    const dir = makeTempDir();
    for (const signal of ['KILL', 'ABRT', 'TERM']) {
      const result = await transportIn(dir).exec(`kill -${signal} $$`, { env: {}, timeoutMs: 5000 });
      expect(result).toEqual({ exitCode: null, signal: `SIG${signal}`, timedOut: false, aborted: false });
    }
    // Each € written as two writes (its first byte, then the other two): the pipe is read between
    // them. The transport passes bytes on undecoded (CORE-001, output); the command's output
    // decodes them for showing (test/engine/command-output.test.ts).
    const chunks: Buffer[] = [];
    const result = await transportIn(dir).exec(
      "i=0; while [ $i -lt 2000 ]; do printf '\\342'; printf '\\202\\254'; i=$((i+1)); done",
      {
        env: {},
        timeoutMs: 10_000,
        onOutput: (chunk) => {
          chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        },
      },
    );
    expect(result.exitCode).toBe(0);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('€'.repeat(2000));
  });

  it('a missing working directory is a transport error, not an exit code', async () => {
    const dir = makeTempDir();
    const result = await transportIn(dir).exec('true', { env: {}, timeoutMs: 5000, cwd: 'missing' });
    expect(result.exitCode).toBeNull();
    expect(result.transportError).toMatch(/^local: cannot start \/bin\/sh in .*missing/);
  });

  it('a working directory that is a file is named in the transport error', async () => {
    const dir = makeTempDir({ 'a-file': '' });
    const result = await transportIn(dir).exec('true', { env: {}, timeoutMs: 5000, cwd: 'a-file' });
    expect(result.exitCode).toBeNull();
    expect(result.transportError).toBe(`local: cannot start /bin/sh in ${join(dir, 'a-file')} (not a directory)`);
  });

  it('a command leaving a background child still finishes when the shell exits', async () => {
    const dir = makeTempDir();
    const started = Date.now();
    const result = await transportIn(dir).exec('echo $$ > pgid; sleep 3 & echo started', { env: {}, timeoutMs: 5000 });
    expect(result.exitCode).toBe(0);
    expect(Date.now() - started).toBeLessThan(2000);
    process.kill(-Number(readFileSync(join(dir, 'pgid'), 'utf8')), 'SIGKILL');
  });

  it('children that ignore SIGTERM get SIGKILL after the grace period; nothing survives', async () => {
    const dir = makeTempDir();
    const started = Date.now();
    const result = await transportIn(dir).exec("trap '' TERM; echo $$ > pgid; sleep 30 & sleep 31; wait", {
      env: {},
      timeoutMs: 300,
    });
    const took = Date.now() - started;
    expect(result.timedOut).toBe(true);
    expect(took).toBeGreaterThanOrEqual(300 + KILL_GRACE_MS);
    expect(took).toBeLessThan(300 + KILL_GRACE_MS + 1500);
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid'), 'utf8')))).toEqual([]);
  }, 15_000);

  it('aborting kills the whole tree at once', async () => {
    const dir = makeTempDir();
    const abort = new AbortController();
    const running = transportIn(dir).exec('echo $$ > pgid; sleep 30 & sleep 31; wait', {
      env: {},
      timeoutMs: 10_000,
      signal: abort.signal,
    });
    // Aborted once the tree runs: a fixed 200 ms was sometimes before a loaded machine started the
    // shell, and then nothing had run to be killed.
    const group = await waitForPid(join(dir, 'pgid'), 9_000);
    const started = Date.now();
    abort.abort();
    const result = await running;
    expect(result).toMatchObject({ aborted: true, timedOut: false, exitCode: null });
    expect(Date.now() - started).toBeLessThan(1500);
    expect(liveGroupMembers(group)).toEqual([]);
  });

  // Node refuses these spawns before any process exists; execa then emits no event at all.
  it.each([
    ['a NUL byte in the environment', { env: { VALUE: 'a\0b' } }, 'true', /NUL byte/],
    ['a NUL byte in the command', { env: {} }, 'echo a\0b', /NUL byte/],
    ['an environment over the kernel limit', { env: { VALUE: 'x'.repeat(300_000) } }, 'true', /too large \(E2BIG\)/],
  ])('%s is a transport error, never a wait for ever', { timeout: 20_000 }, async (_, options, command, reason) => {
    const dir = makeTempDir();
    const result = await transportIn(dir).exec(command, { ...options, timeoutMs: 60_000 });
    expect(result).toMatchObject({ exitCode: null, timedOut: false, aborted: false });
    expect(result.transportError).toMatch(/^local: cannot start \/bin\/sh: /);
    expect(result.transportError).toMatch(reason);
    expect(result.transportError?.length).toBeLessThan(200);
  });
});
