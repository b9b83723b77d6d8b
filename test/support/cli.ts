// Runs the real `bin/nixfleet.js` as a user would: in a directory of the test's own, with no TTY.
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { execa, type ResultPromise } from 'execa';

export const ROOT = resolve(import.meta.dirname, '../..');
export const BIN = join(ROOT, 'bin/nixfleet.js');

export interface CliResult {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** A fresh temp directory; `files` maps relative paths to contents. */
export function makeTempDir(files: Record<string, string> = {}, prefix = 'nixfleet-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  for (const [path, content] of Object.entries(files)) {
    const full = join(dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}

/**
 * A program `name` in the PATH directory `bin` that runs `real`, then lingers a second before it
 * exits with its status: whatever nixfleet started it as (a spawner, the lifeline's awk) is then
 * seen if nixfleet does not wait for it to end.
 */
export function lingeringProgram(bin: string, name: string, real: string): void {
  writeFileSync(join(bin, name), `#!/bin/sh\n${real} "$@"; s=$?; /usr/bin/sleep 1; exit $s\n`, { mode: 0o755 });
}

export interface RunOptions {
  readonly env?: Record<string, string | undefined>;
  readonly timeoutMs?: number;
  readonly input?: string;
}

/** Runs the CLI to completion. Never throws on a non-zero exit: tests assert the code. */
export async function runCli(cwd: string, args: readonly string[], options: RunOptions = {}): Promise<CliResult> {
  const result = await execa('node', [BIN, ...args], {
    cwd,
    reject: false,
    env: { CI: 'true', NO_COLOR: '1', ...options.env },
    timeout: options.timeoutMs ?? 60_000,
    input: options.input ?? '',
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs the CLI to completion with stdout as bytes, undecoded (`logs` of binary output). */
export async function runCliBytes(
  cwd: string,
  args: readonly string[],
): Promise<{ exitCode: number; stdout: Buffer; stderr: string }> {
  const result = await execa('node', [BIN, ...args], {
    cwd,
    reject: false,
    encoding: 'buffer',
    stripFinalNewline: false,
    env: { CI: 'true', NO_COLOR: '1' },
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: Buffer.from(result.stdout), stderr: String(result.stderr) };
}

/** Starts the CLI without waiting (for SIGINT, SIGKILL and concurrency tests). */
export function spawnCli(cwd: string, args: readonly string[], options: RunOptions = {}): ResultPromise {
  return execa('node', [BIN, ...args], {
    cwd,
    reject: false,
    env: { CI: 'true', NO_COLOR: '1', ...options.env },
    timeout: options.timeoutMs ?? 60_000,
    buffer: true,
  });
}
