// Loaded into every test worker (vitest.config.ts, setupFiles). A signal a test means for one of
// its own processes must never reach the test run itself: `process.kill(0, s)` and
// `process.kill(-0, s)` signal the caller's whole process group, and without a terminal (CI) that
// group is the worker, vitest, npm and the CI script. A pid read from a file its writer had made
// but not yet written (`echo $$ > file` creates it first) is `Number('')`, 0, and one SIGKILL to
// `-0` once ended a whole CI run with nothing in the log to say why. `-1` would signal every
// process there is. Such a call throws here instead, and the test it happened in fails, naming
// it, even where the code under test caught the throw (it treats a failed kill as a gone process).
import { readFileSync } from 'node:fs';
import { afterEach } from 'vitest';

const stat = readFileSync('/proc/self/stat', 'utf8');
/** This worker's process group: field 5 of /proc/self/stat, after the parenthesised name. */
const ownGroup = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);

const kill = process.kill.bind(process);
const refused: string[] = [];
process.kill = (pid: number, signal?: string | number): true => {
  const target = Number(pid);
  const probe = signal === 0;
  const runItself = target === 0 || target === -1 || Math.abs(target) === ownGroup || target === process.pid;
  if (!probe && (!Number.isSafeInteger(target) || runItself)) {
    const call = `process.kill(${String(pid)}, ${String(signal)})`;
    refused.push(call);
    throw new Error(`test kill guard: refusing ${call}: it would reach the test run itself`);
  }
  return kill(pid, signal);
};

afterEach(() => {
  const calls = refused.splice(0);
  if (calls.length > 0)
    throw new Error(`test kill guard: this test signalled the test run itself: ${calls.join(', ')}`);
});
