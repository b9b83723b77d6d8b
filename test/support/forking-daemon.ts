// A command that leaves its process group with `setsid` and forks without pause, ignoring SIGTERM
// (CORE-011, "Processes that leave the group"): one pass of SIGKILL by NIXFLEET_PROCESS_TAG misses
// what it forks while the pass runs. Bounded so that a failing test leaves nothing for long: the
// loop stops by itself after 30 s, and each child it leaves is a `sleep 61.<id>`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { taggedProcesses } from '../../src/domain/tagged-processes.js';
import { processesMatching } from './processes.js';

export interface ForkingDaemon {
  /** The fleet file: op `spawny` on local host h1, and `check`, which does nothing. */
  readonly fleet: string;
  /** In the command line of the loop and of every child it forks. */
  readonly marker: string;
  /** In the command line of the command's own foreground `sleep`. */
  readonly foreground: string;
  readonly workdir?: string | undefined;
}

export interface ForkingDaemonOptions {
  /** Where the command writes `tag` and `started`: the fleet file's directory unless given. */
  readonly workdir?: string;
  /** Host h1 as a YAML flow mapping; a local host unless given. */
  readonly host?: string;
  /** The fleet file's `settings:`, as a YAML flow mapping. */
  readonly settings?: string;
}

/** `id`: digits unique to the test, so that its processes are told from every other test's. */
export function forkingDaemon(id: string, timeout: string, options: ForkingDaemonOptions = {}): ForkingDaemon {
  const marker = `sleep 61.${id}`;
  const foreground = `sleep 600.${id}`;
  const file = (name: string) => (options.workdir === undefined ? name : JSON.stringify(join(options.workdir, name)));
  // The command writes its tag, so the test can look for its processes as nixfleet does, and
  // `started` once the loop runs.
  const fleet = `version: 1
${options.settings === undefined ? '' : `settings: ${options.settings}\n`}hosts: { h1: ${options.host ?? '{ transport: local }'} }
ops:
  spawny:
    run: |
      echo "$NIXFLEET_PROCESS_TAG" > ${file('tag')}
      setsid sh -c 'trap "" TERM; end=$(($(date +%s) + 30)); while [ "$(date +%s)" -lt "$end" ]; do (${marker} &); done' </dev/null >/dev/null 2>&1 &
      touch ${file('started')}
      ${foreground}
    timeout: ${timeout}
  check:
    run: 'true'
`;
  return { fleet, marker, foreground, workdir: options.workdir };
}

/** Processes carrying the tag the command wrote (in `dir`, unless it has a workdir), and any left by its loop. */
export function survivors(dir: string, daemon: ForkingDaemon): number[] {
  const tag = readFileSync(join(daemon.workdir ?? dir, 'tag'), 'utf8').trim();
  return [...new Set([...taggedProcesses(tag), ...processesMatching(daemon.marker)])];
}

/** SIGKILL to everything of `daemon`, again until nothing is left (the loop forks meanwhile); bounded. */
export function killForkingDaemon(daemon: ForkingDaemon): void {
  for (let pass = 0; pass < 100; pass++) {
    const left = [...processesMatching(daemon.marker), ...processesMatching(daemon.foreground)];
    if (left.length === 0) return;
    for (const pid of left) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone already.
      }
    }
  }
}
