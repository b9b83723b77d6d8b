// Runs the CLI's real dispatcher (src/cli/main.ts) inside the test process, with captured output.
// Used where spawning one node process per case would make a large corpus slow on a small
// machine; end-to-end tests still spawn bin/nixfleet.js for representative cases.
import { Writable } from 'node:stream';
import { main } from '../../../src/cli/main.js';
import type { CliResult } from '../../support/cli.js';

class Capture extends Writable {
  text = '';
  isTTY = false;
  override _write(chunk: Buffer | string, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

export async function runInProcess(
  cwd: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv = {},
): Promise<CliResult> {
  const stdout = new Capture();
  const stderr = new Capture();
  const exitCode = await main(args, { stdout, stderr, cwd, env: { NO_COLOR: '1', ...env } });
  return { exitCode, stdout: stdout.text, stderr: stderr.text };
}
