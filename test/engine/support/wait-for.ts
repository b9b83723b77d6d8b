// Bounded polling for tests that watch real processes: never an open-ended sleep.
import { existsSync } from 'node:fs';

export async function waitFor(condition: () => boolean, what: string, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs}ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export const waitForFile = (path: string, timeoutMs?: number) => waitFor(() => existsSync(path), path, timeoutMs);
