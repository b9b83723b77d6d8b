// Real saves the way editors and scripts make them, and bounded waits for what they cause.
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';

/** vim (`backupcopy=no`), JetBrains, VS Code safe-write: a temp file renamed over the target. */
export function saveByRename(path: string, content: string): void {
  const temp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  writeFileSync(temp, content);
  renameSync(temp, path);
}

/** vim with a backup: the original is moved away, the new file written, the backup deleted. */
export function saveWithBackup(path: string, content: string): void {
  const backup = `${path}~`;
  renameSync(path, backup);
  writeFileSync(path, content);
  rmSync(backup);
}

/** Polls until `check` returns a value other than undefined/false, or throws after `timeoutMs`. */
export async function waitFor<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Writes `contents` one after another, about `gapMs` apart, without yielding to the event loop:
 * on a loaded machine a timer can fire far later than asked, which would split one burst in two.
 */
export function writeBurst(path: string, contents: readonly string[], gapMs = 2): void {
  const gap = new Int32Array(new SharedArrayBuffer(4));
  for (const content of contents) {
    writeFileSync(path, content);
    Atomics.wait(gap, 0, 0, gapMs);
  }
}

/** A small fleet: one local host, ops `hello` (+ whatever `extraOps` adds), pipeline `all`. */
export function fleetYaml(
  options: { helloRun?: string; description?: string; include?: string[]; extra?: string } = {},
) {
  const include = options.include ? `include: [${options.include.map((g) => JSON.stringify(g)).join(', ')}]\n` : '';
  return `version: 1
hosts:
  web1:
    tags: [web]
ops:
  hello:
    description: ${JSON.stringify(options.description ?? 'says hello')}
    run: ${JSON.stringify(options.helloRun ?? 'echo hello')}
${options.extra ?? ''}pipelines:
  all:
    ops: [hello]
${include}`;
}

export function opsYaml(ops: Record<string, string>): string {
  const body = Object.entries(ops)
    .map(([id, run]) => `  ${id}:\n    run: ${JSON.stringify(run)}\n`)
    .join('');
  return `ops:\n${body}`;
}
