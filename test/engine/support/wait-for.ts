// Bounded polling for tests that watch real processes: never an open-ended sleep.
import { existsSync, readFileSync } from 'node:fs';

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const waitForFile = (path: string, timeoutMs?: number) => waitFor(() => existsSync(path), path, timeoutMs);

/**
 * The first line of `path` once it is whole: `echo $$ > file` makes the file before it writes to
 * it, so a file that exists may still be empty.
 */
export async function waitForLine(path: string, timeoutMs?: number): Promise<string> {
  const line = () => (existsSync(path) ? /^(.*)\n/.exec(readFileSync(path, 'utf8'))?.[1] : undefined);
  await waitFor(() => line() !== undefined, `a line in ${path}`, timeoutMs);
  return line()!;
}

/**
 * The pid `echo $$ > path` wrote, once whole. Read from a file that exists but is still empty it
 * would be `Number('')`, 0, and a signal to 0 or -0 reaches the test run's own process group.
 */
export async function waitForPid(path: string, timeoutMs?: number): Promise<number> {
  const line = await waitForLine(path, timeoutMs);
  const pid = Number(line);
  if (!Number.isSafeInteger(pid) || pid < 2) throw new Error(`${path} holds ${JSON.stringify(line)}, not a pid`);
  return pid;
}

/** waitForPid for each of `paths`, in order. */
export async function waitForPids(paths: readonly string[], timeoutMs?: number): Promise<number[]> {
  const pids: number[] = [];
  for (const path of paths) pids.push(await waitForPid(path, timeoutMs));
  return pids;
}
