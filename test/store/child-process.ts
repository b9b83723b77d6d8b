// Drives test/store/journal-child.mjs: one request line in, one JSON answer line out, every wait bounded.
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const CHILD = join(import.meta.dirname, 'journal-child.mjs');

export interface JournalChild {
  readonly pid: number;
  ask(line: string, timeoutMs?: number): Promise<Record<string, unknown>>;
  /** SIGKILL, then wait until the process is reaped (a zombie would still look alive). */
  kill(): Promise<void>;
  /** Closes stdin so the child exits on its own. */
  end(): Promise<void>;
}

/** `store`: a postgres:// URL for the PostgreSQL journal; `env` adds to this process's environment. */
export async function startChild(
  dataDir: string,
  options: { store?: string; env?: Record<string, string> } = {},
): Promise<JournalChild> {
  const args = [CHILD, dataDir, ...(options.store ? [options.store] : [])];
  const child: ChildProcess = spawn(process.execPath, args, {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: { ...process.env, ...options.env },
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const waiting: ((line: string) => void)[] = [];
  const buffered: string[] = [];
  createInterface({ input: child.stdout! }).on('line', (line) => {
    const next = waiting.shift();
    if (next) next(line);
    else buffered.push(line);
  });
  const nextLine = (timeoutMs: number) =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`child ${child.pid}: no answer in ${timeoutMs} ms`)), timeoutMs);
      const take = (line: string) => {
        clearTimeout(timer);
        const answer = JSON.parse(line) as Record<string, unknown>;
        if (answer.error) reject(new Error(`child ${child.pid}: ${answer.error}`));
        else resolve(answer);
      };
      const ready = buffered.shift();
      if (ready !== undefined) take(ready);
      else waiting.push(take);
    });
  await nextLine(15_000);
  return {
    pid: child.pid!,
    ask(line, timeoutMs = 10_000) {
      const answer = nextLine(timeoutMs);
      child.stdin!.write(`${line}\n`);
      return answer;
    },
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async end() {
      child.stdin!.end();
      await exited;
    },
  };
}
