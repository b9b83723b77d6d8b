// CORE-011, "Processes that leave the group": the processes of many commands are found by their
// NIXFLEET_PROCESS_TAG in one look at /proc. Real processes, each with its own environment; one
// leaves its session with `setsid`, as a daemon would.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { processesByTag, taggedProcesses } from '../../src/domain/tagged-processes.js';
import { waitFor } from '../engine/support/wait-for.js';
import { isRunning } from '../support/processes.js';

const children: ChildProcess[] = [];

afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

const newTag = () => randomBytes(8).toString('hex');

/** A `sleep` (through `setsid` when asked) with exactly `env`, once it runs with it. */
async function sleeper(env: Record<string, string>, setsid = false): Promise<number> {
  const [command, args] = setsid ? ['setsid', ['sleep', '600']] : ['sleep', ['600']];
  const child = spawn(command, args as string[], { stdio: 'ignore', env });
  children.push(child);
  const pid = child.pid!;
  // Until exec, /proc shows the environment of the process that forked it.
  await waitFor(() => readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('sleep\0'), 'the sleep to run', 10_000);
  return pid;
}

/** The session a process belongs to (field 6 of /proc/<pid>/stat). */
function sessionOf(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3]);
}

describe.runIf(process.platform === 'linux')('processesByTag', () => {
  it('finds, in one look, exactly the processes carrying each wanted tag, one of them in a session of its own', async () => {
    const [first, second, other, missing] = [newTag(), newTag(), newTag(), newTag()];
    const PATH = process.env.PATH ?? '/usr/bin:/bin';
    // The tag as the environment's first entry and as a later one.
    const firstA = await sleeper({ NIXFLEET_PROCESS_TAG: first, PATH });
    const firstB = await sleeper({ PATH, NIXFLEET_PROCESS_TAG: first });
    const escaped = await sleeper({ PATH, NIXFLEET_PROCESS_TAG: second }, true);
    expect(sessionOf(escaped)).toBe(escaped);
    expect(sessionOf(escaped)).not.toBe(sessionOf(process.pid));
    // Not wanted: another tag, one that only starts with a wanted one, a wanted one as the value
    // of another variable or at the end of another variable's name.
    const unwanted = [
      await sleeper({ PATH, NIXFLEET_PROCESS_TAG: other }),
      await sleeper({ PATH, NIXFLEET_PROCESS_TAG: `${first}0` }),
      await sleeper({ PATH, NOT_THE_TAG: first }),
      await sleeper({ PATH, X_NIXFLEET_PROCESS_TAG: second }),
    ];

    const found = processesByTag([first, second, missing, '']);

    expect([...found.keys()].sort()).toEqual([first, second].sort());
    expect(found.get(first)?.sort()).toEqual([firstA, firstB].sort());
    expect(found.get(second)).toEqual([escaped]);
    for (const pid of unwanted) expect([...found.values()].flat()).not.toContain(pid);
    // The one-tag look agrees.
    expect(taggedProcesses(second)).toEqual([escaped]);
    expect(taggedProcesses(missing)).toEqual([]);
  });

  it('leaves out a tagged process once it has exited, even before it is reaped', async () => {
    const tag = newTag();
    const pid = await sleeper({ PATH: process.env.PATH ?? '/usr/bin:/bin', NIXFLEET_PROCESS_TAG: tag });
    expect(processesByTag([tag]).get(tag)).toEqual([pid]);
    process.kill(pid, 'SIGKILL');
    await waitFor(() => !isRunning(pid), 'the sleep to die', 10_000);
    expect(processesByTag([tag]).has(tag)).toBe(false);
  });
});
