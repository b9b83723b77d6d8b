// nixfleet's side of the spawner processes (see CORE-001, "The spawner process"): started with the
// first command (a local one's shell, or an ssh client), shared by every transport of this
// nixfleet, holding nixfleet's event loop only while commands run (and at its normal end, until
// they have ended: `endWithNixfleet`), and started again if one dies.
import { fork } from 'node:child_process';
import { existsSync, realpathSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inheritedEnvironment } from '../../command-environment.js';
import { findOnPath, onPath, startFrameLink } from './frame-link.js';
import type { SpawnerLink, SpawnerReply, SpawnerRequest } from './protocol.js';

/** The Python and Perl spawners, beside this file in the sources, in dist/ and in the bundle (the build copies them). */
const PYTHON_SCRIPT = fileURLToPath(new URL('./spawner.py', import.meta.url));
const PERL_SCRIPT = fileURLToPath(new URL('./spawner.pl', import.meta.url));
/** Python without its user site, environment variables (PYTHONPATH) or `site` module: only the script. */
const PYTHON_FLAGS = ['-I', '-S'];
// Under the TypeScript sources (tests) the compiled entry in dist/ is used, as for the PostgreSQL worker.
const NODE_ENTRY = import.meta.url.endsWith('.ts')
  ? new URL('../../../../dist/engine/transports/spawner/spawner-process.js', import.meta.url)
  : new URL('./spawner-process.js', import.meta.url);

/**
 * One spawner per core, at most two: a Node spawner spends most of its time forking, which one
 * core does one at a time; a third gained nothing on two cores and costs memory. For the Perl
 * spawner one and two measured alike, so the pool is the same for all (CORE-002).
 */
const POOL_SIZE = Math.max(1, Math.min(2, availableParallelism()));

export interface SpawnEvents {
  /** The process exists (its pid leads its own session and group); the gate is still closed. */
  spawned(pid: number): void;
  /** It could not be created, or the spawner died: `cause` carries the errno `code` and a message. */
  failed(cause: Error & { code?: string }): void;
  /** The command's bytes as they came (CORE-001, output); `stderr` only where started `split`. */
  output(chunk: Buffer, stderr: boolean): void;
  exit(code: number | null, signal: string | null): void;
  /** After `exit`: its output pipes are closed, every byte was delivered. */
  end(): void;
}

export interface SpawnedCommand {
  /** Let the command run (the start gate, CORE-011). */
  go(): void;
  /** Write `input` on its stdin, which stays open until `cancel` (instead of `go`). */
  feed(input: string): void;
  /** Never let it run; after `feed`, end its input. */
  cancel(): void;
  /**
   * Never let it run, and hear nothing more of it: for a command given up on before its spawner
   * reported it spawned (killed, or not started in time). A spawner that never answers then no
   * longer keeps nixfleet running.
   */
  abandon(): void;
  /** Stop reading output that only background children still hold open. */
  close(): void;
}

/** A command a spawner carries: what to tell, and until it is spawned, how to start it again. */
interface Carried {
  readonly events: SpawnEvents;
  /** Cleared once the spawner reported the process; until then a lost spawner's command is started anew. */
  start: Extract<SpawnerRequest, { t: 'start' }> | undefined;
  /**
   * Whether a lost spawner's command it had not reported is started anew: once, and only a command
   * behind a start gate (see `died`).
   */
  startAgain: boolean;
}

interface Spawner {
  readonly link: SpawnerLink;
  readonly running: Map<number, Carried>;
}

const pool: (Spawner | undefined)[] = [];
/** Whether nixfleet's normal end (`endWithNixfleet`) is listened for: once a spawner started. */
let endListened = false;
/** How long nixfleet's normal end waits for its spawners to end; a bound, not a pause. */
const END_WAIT_MS = 5_000;
/** The `code` of a failure that is the spawner's own end, not the command's. */
export const SPAWNER_LOST = 'ESPAWNERLOST';
/** A transport's reason for a command whose spawner ended under it (`transport`: `local`, `ssh`). */
export function spawnerLostReason(transport: string): string {
  return `${transport}: nixfleet's spawner process ended; the command was stopped`;
}
let nextId = 1;

export function spawnThroughSpawner(
  file: string,
  args: readonly string[],
  options: {
    readonly cwd: string;
    readonly env: Readonly<Record<string, string>>;
    readonly split?: boolean;
    readonly stderrTo?: string;
    /**
     * It has no start gate (an ssh master, CORE-007): it runs once forked, so if its spawner is
     * lost before reporting it, it may be running, and is failed (SPAWNER_LOST), not started again.
     */
    readonly ungated?: boolean;
  },
  events: SpawnEvents,
): SpawnedCommand {
  const id = nextId++;
  const { cwd, env, split, stderrTo } = options;
  const start = { t: 'start', id, file, args, cwd, env, split, stderrTo } as const;
  carry(id, { events, start, startAgain: options.ungated !== true });
  // The command may move to another spawner before it is spawned (see `died`); `go`, `feed`,
  // `cancel` and `close` only come after `spawned`, so they go to whichever carries it then.
  const send = (request: SpawnerRequest) => {
    const spawner = carrierOf(id);
    if (spawner?.link.connected()) spawner.link.send(request);
  };
  return {
    go: () => send({ t: 'go', id }),
    feed: (input) => send({ t: 'feed', id, input }),
    cancel: () => send({ t: 'cancel', id }),
    close: () => send({ t: 'close', id }),
    abandon: () => {
      const spawner = carrierOf(id);
      if (spawner === undefined) return;
      // After its `start` in the channel: the spawner closes the gate of the shell it starts.
      if (spawner.link.connected()) spawner.link.send({ t: 'cancel', id });
      forget(spawner, id);
    },
  };
}

function forget(spawner: Spawner, id: number): void {
  spawner.running.delete(id);
  if (spawner.running.size === 0) spawner.link.hold(false);
}

/** Hands a command to its spawner (started if need be) and sends it the `start`. */
function carry(id: number, carried: Carried): void {
  const spawner = startedSpawner(id % POOL_SIZE);
  spawner.running.set(id, carried);
  spawner.link.hold(true);
  if (carried.start && spawner.link.connected()) spawner.link.send(carried.start);
}

function carrierOf(id: number): Spawner | undefined {
  return pool.find((spawner) => spawner?.running.has(id));
}

/** The spawners' pids, once started (tests check how commands are parented and what a lost spawner does). */
export function spawnerPids(): number[] {
  return pool.flatMap((spawner) => (spawner?.link.pid === undefined ? [] : [spawner.link.pid]));
}

function startedSpawner(slot: number): Spawner {
  const existing = pool[slot];
  if (existing) return existing;
  const { program } = spawnerChoice();
  const link = program === undefined ? startNodeLink() : startFrameLink(program.file, program.args);
  const spawner: Spawner = { link, running: new Map() };
  pool[slot] = spawner;
  if (!endListened) {
    endListened = true;
    process.on('beforeExit', endWithNixfleet);
  }
  link.onReply((reply: SpawnerReply) => {
    const carried = spawner.running.get(reply.id);
    if (!carried) return;
    const { events } = carried;
    switch (reply.t) {
      case 'spawned':
        carried.start = undefined;
        return events.spawned(reply.pid);
      case 'failed':
        forget(spawner, reply.id);
        return events.failed(Object.assign(new Error(reply.message), { code: reply.code }));
      case 'out':
        return events.output(
          typeof reply.chunk === 'string' ? Buffer.from(reply.chunk, 'latin1') : reply.chunk,
          reply.stderr === true,
        );
      case 'exit':
        return events.exit(reply.code, reply.signal);
      case 'end':
        forget(spawner, reply.id);
        return events.end();
    }
  });
  // A spawner that dies fails what it was relaying; the next command starts a new one. A command
  // it had not reported spawned yet never ran: if its shell exists, its start gate reads
  // end-of-file from the closed pipe (CORE-011). That one is started again on a new spawner, once.
  // (A terminal's Ctrl-C can kill a spawner while it is being forked, before it leaves nixfleet's
  // process group.) One with no gate may have run: it fails, and its caller stops it.
  const died = (cause?: unknown) => {
    if (pool[slot] !== spawner) return;
    pool[slot] = undefined;
    const lost = [...spawner.running];
    spawner.running.clear();
    for (const [id, carried] of lost) {
      if (carried.start && carried.startAgain) {
        carry(id, { ...carried, startAgain: false });
        continue;
      }
      carried.events.failed(lostBecause(cause));
    }
  };
  link.onGone(died);
  return spawner;
}

/**
 * At nixfleet's normal end (its event loop has nothing left to do) each idle spawner is told to
 * end, as nixfleet's exit would tell it, and nixfleet waits for it, at most END_WAIT_MS, as for
 * its lifeline (CORE-011, "The local lifeline"): a spawner keeps nixfleet's working directory, and
 * left to end after nixfleet, a script's `umount` of it just after nixfleet could find it busy.
 * Should more work come after all, the next command starts a new one.
 */
function endWithNixfleet(): void {
  for (const [slot, spawner] of pool.entries()) {
    if (spawner === undefined || spawner.running.size > 0) continue;
    // Its end is no loss: it carries nothing.
    pool[slot] = undefined;
    spawner.link.end();
    spawner.link.hold(true);
    const bound = setTimeout(() => spawner.link.hold(false), END_WAIT_MS);
    spawner.link.onGone(() => clearTimeout(bound));
  }
}

export type SpawnerKind = 'Python' | 'Perl' | 'Node';
/** The spawner this process starts, chosen once; `program` is what to run, absent for Node's (`fork`). */
let chosen: { readonly kind: SpawnerKind; readonly program?: { file: string; args: readonly string[] } } | undefined;

/**
 * Which spawner this process starts (CORE-001, "The spawner process"), chosen once: Python's
 * where a `python3` on PATH is Python 3.8 or newer, else Perl's where `perl` is on PATH, else
 * Node's.
 */
function spawnerChoice(): NonNullable<typeof chosen> {
  if (chosen === undefined) {
    const python = recentPython();
    const perl = findOnPath('perl');
    if (python !== null && existsSync(PYTHON_SCRIPT)) {
      chosen = { kind: 'Python', program: { file: python, args: [...PYTHON_FLAGS, PYTHON_SCRIPT] } };
    } else if (perl !== null && existsSync(PERL_SCRIPT)) {
      chosen = { kind: 'Perl', program: { file: perl, args: [PERL_SCRIPT] } };
    } else {
      chosen = { kind: 'Node' };
    }
  }
  return chosen;
}

/** The kind of spawner this process uses (the benchmark and tests say which one ran). */
export function spawnerKind(): SpawnerKind {
  return spawnerChoice().kind;
}

/**
 * The first `python3` on PATH whose real path names its version (`python3.11`, as Debian, Ubuntu,
 * Fedora and Homebrew install it) where the version has `os.posix_spawn` with `setsid` (3.8), by
 * that real path. Nothing is run to ask: a version manager's shim (a script named `python3`) would
 * cost each start a fifth of a second, so such a `python3` is passed over for the next one on
 * PATH (pyenv's shims come before the system's `/usr/bin`), as is one whose version its name does
 * not say.
 */
function recentPython(): string | null {
  for (const python of onPath('python3')) {
    try {
      const real = realpathSync(python);
      const minor = /^python3\.(\d+)$/.exec(basename(real))?.[1];
      if (minor !== undefined && Number(minor) >= 8) return real;
    } catch {
      // A dangling link: the next one.
    }
  }
  return null;
}

/**
 * Why a spawner's commands failed: the error it could not be started with (out of file
 * descriptors: EMFILE), which is then each command's; else its end (an exit, a signal).
 */
function lostBecause(cause: unknown): Error & { code?: string } {
  const code = (cause as NodeJS.ErrnoException | undefined)?.code;
  if (cause instanceof Error && code !== undefined) return Object.assign(new Error(cause.message), { code });
  return Object.assign(new Error('the spawner process ended'), { code: SPAWNER_LOST });
}

/**
 * The Node spawner (spawner-process.ts), over Node's IPC channel. Its own session, like the Perl
 * one and the lifeline: a terminal's Ctrl-C or hang-up is nixfleet's to act on (the first Ctrl-C
 * lets running commands finish, CORE-002), and would otherwise end the spawner and with it the
 * output of every running command. No inherited Node flags (a profiler, a test runner's loader):
 * it runs only this file.
 */
function startNodeLink(): SpawnerLink {
  const child = fork(NODE_ENTRY, [], {
    execArgv: [],
    detached: true,
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    serialization: 'json',
    env: inheritedEnvironment(),
  });
  return {
    pid: child.pid,
    send: (request) => child.send(request),
    connected: () => child.connected,
    hold: (held) => {
      if (held) {
        child.ref();
        child.channel?.ref();
      } else {
        child.unref();
        child.channel?.unref();
      }
    },
    end: () => {
      if (child.connected) child.disconnect();
    },
    onReply: (listener) => child.on('message', listener),
    onGone: (listener) => {
      child.on('exit', listener);
      child.on('error', listener);
    },
  };
}
