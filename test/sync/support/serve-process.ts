// Runs the real `nixfleet serve` (bin/nixfleet.js) in its own process and waits for its
// `listening` line (--json), so tests talk to exactly what users start.
import type { ResultPromise } from 'execa';
import { spawnCli } from '../../support/cli.js';

export interface ServeProcess {
  readonly child: ResultPromise;
  /** `http://127.0.0.1:PORT/` */
  readonly baseUrl: string;
  /** The URL as printed, with `?token=`. */
  readonly url: string;
  readonly port: number;
  readonly token: string;
  /** Everything printed on stdout so far. */
  output(): string;
  /** Everything printed on stderr so far. */
  errors(): string;
  /** Sends `signal` and waits for the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number>;
}

export async function startServe(
  cwd: string,
  args: readonly string[] = [],
  env: Record<string, string> = {},
): Promise<ServeProcess> {
  const port = args.includes('--port') ? [] : ['--port', '0'];
  const child = spawnCli(cwd, ['--json', 'serve', ...port, ...args], { env, timeoutMs: 120_000 });
  let stdout = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const listening = await new Promise<{ url: string; port: number; token: string }>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 60 s:\n${stdout}\n${stderr}`)), 60_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      for (const line of stdout.split('\n')) {
        if (!line.startsWith('{')) continue;
        const message = JSON.parse(line) as { type: string; url: string; port: number; token: string };
        if (message.type === 'listening') {
          clearTimeout(timer);
          resolve(message);
        }
      }
    });
    child.then((result) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${result.exitCode} before listening:\n${stdout}\n${stderr}`));
    }, reject);
  });
  return {
    child,
    url: listening.url,
    baseUrl: listening.url.replace(/\?.*$/, ''),
    port: listening.port,
    token: listening.token,
    output: () => stdout,
    errors: () => stderr,
    async stop(signal = 'SIGTERM') {
      child.kill(signal);
      const result = await child;
      return result.exitCode ?? (result.signal ? 128 : -1);
    },
  };
}
