// The multiplexing master of one host (see CORE-007, multiplexing): opened once, shared by every
// command of the run, asked for its pid and asked to exit over its own control socket
// (mux-control.ts). Its stderr goes to a file beside the socket: the master lives on in the
// background and would hold a pipe open for as long as it runs.
import { closeSync, existsSync, openSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  killTaggedProcesses,
  PROCESS_TAG_VARIABLE,
  signalTaggedProcesses,
  taggedProcesses,
} from '../../../domain/tagged-processes.js';
import { killedInItsFork } from '../spawn-failure.js';
import { SPAWNER_LOST, spawnThroughSpawner } from '../spawner/spawner-client.js';
import { type ConnectionOptions, sshArgs } from './arguments.js';
import type { ControlSocket } from './control-socket.js';
import { sshNotStartedReason } from './failure-reason.js';
import { askMasterPid, askMasterToExit } from './mux-control.js';
import { KILL_GRACE_MS } from './reaper.js';

/**
 * How long an idle master stays up. Long enough to bridge the wait between stages (another host
 * may take minutes), short enough that a crashed nixfleet does not leave masters behind for long;
 * a master that expired is simply opened again.
 */
export const MASTER_PERSIST_SECONDS = 300;

export type MasterStart =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly stderr: string;
      readonly exitCode: number | null;
      /** The signal that ended ssh's foreground process, if one did. */
      readonly signal: NodeJS.Signals | null;
      readonly timedOut: boolean;
      readonly aborted: boolean;
      /** Its spawner was lost before it reported the login, which may have begun (then stopped). */
      readonly lostUnreported: boolean;
    };

/**
 * Whether a master listens on the control socket. The file alone does not say: a master killed
 * with SIGKILL (the OOM killer) leaves it behind, and then every ssh client told to use it said
 * `Control socket connect(...): Connection refused` into the command's output, connected on its
 * own instead, and a session cut off with it had its 255 taken for the command's (CORE-007).
 * Such a file is removed, so a new master can listen there.
 */
export async function isMasterUp(control: ControlSocket): Promise<boolean> {
  if (!existsSync(control.socketPath)) return false;
  if (await socketListens(control.socketPath)) return true;
  rmSync(control.socketPath, { force: true });
  return false;
}

/** Whether something accepts connections on this Unix socket (a left-over file refuses them). */
export function socketListens(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(path);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface MasterLimits {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Put in ssh's environment as NIXFLEET_PROCESS_TAG, for the lifeline (CORE-011, "The ssh master"). */
  readonly tag: string;
}

/**
 * Runs `ssh -N -f` with the master's options and waits for its foreground process: it exits 0
 * once the connection is up and the socket listens, or 255 with the reason in the log. Started by
 * nixfleet's spawner, as sessions are (CORE-007, "Masters through the spawner"), in a session of
 * its own, with no pipe: the master it leaves in the background would hold one for as long as it
 * runs. One killed by a terminal's signal is started again, once (CORE-011, "A Ctrl-C during a
 * fork"), and so is one whose spawner was lost before it reported the login, once what that login
 * may have started is stopped (CORE-001, "The spawner process").
 */
export async function startMaster(
  connection: ConnectionOptions,
  control: ControlSocket,
  limits: MasterLimits,
): Promise<MasterStart> {
  const first = await attemptMaster(connection, control, limits);
  const again = !first.ok && (killedInItsFork(first.signal) || first.lostUnreported);
  return again ? attemptMaster(connection, control, limits) : first;
}

interface MasterEnd {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Why it never ran, when it did not. */
  readonly notStarted?: string;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  readonly lostUnreported: boolean;
}

async function attemptMaster(
  connection: ConnectionOptions,
  control: ControlSocket,
  limits: MasterLimits,
): Promise<MasterStart> {
  const failed = (
    stderr: string,
    exitCode: number | null,
    end: { signal?: NodeJS.Signals | null; timedOut?: boolean; aborted?: boolean; lostUnreported?: boolean } = {},
  ): MasterStart => ({
    ok: false,
    stderr,
    exitCode,
    signal: end.signal ?? null,
    timedOut: end.timedOut ?? false,
    aborted: end.aborted ?? false,
    lostUnreported: end.lostUnreported ?? false,
  });
  if (limits.signal?.aborted) return failed('', null, { aborted: true });
  const logFile = join(control.directory, 'master.log');
  const mode = { kind: 'master', socketPath: control.socketPath, persistSeconds: MASTER_PERSIST_SECONDS } as const;
  // Made (or emptied) here, where a failure can name it; the spawner appends ssh's stderr to it.
  try {
    closeSync(openSync(logFile, 'w', 0o600));
  } catch (error) {
    return failed(`cannot write the connection log ${logFile}: ${(error as Error).message}`, null);
  }
  const ended = await new Promise<MasterEnd>((resolve) => {
    let pid: number | undefined;
    let stop: 'timedOut' | 'aborted' | undefined;
    let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let killWait: NodeJS.Timeout | undefined;
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, notStarted?: string, lost = false) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      clearTimeout(killWait);
      limits.signal?.removeEventListener('abort', onAbort);
      const stopped = { timedOut: stop === 'timedOut', aborted: stop === 'aborted' };
      resolve({ exitCode, signal, notStarted, ...stopped, lostUnreported: lost });
    };
    const end = (why: 'timedOut' | 'aborted') => {
      stop ??= why;
      if (pid === undefined) {
        // Not started yet: it never will be.
        spawned.abandon();
        finish(null, null);
        return;
      }
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Exited already: its exit is on the way.
      }
      // A spawner that stopped answering must not hold the run: its exit is not waited for long.
      killWait ??= setTimeout(() => {
        spawned.abandon();
        finish(null, 'SIGTERM');
      }, KILL_GRACE_MS);
    };
    const timer = setTimeout(() => end('timedOut'), Math.max(1, limits.timeoutMs));
    const onAbort = () => end('aborted');
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    // Without nixfleet's own secrets: the spawner's environment is inheritedEnvironment()
    // (command-environment.ts), and the master's ProxyCommand inherits it.
    const spawned = spawnThroughSpawner(
      'ssh',
      sshArgs(connection, mode),
      { cwd: process.cwd(), env: { [PROCESS_TAG_VARIABLE]: limits.tag }, stderrTo: logFile, ungated: true },
      {
        spawned: (started) => {
          pid = started;
          if (stop !== undefined) end(stop);
        },
        failed: (cause) => {
          // The spawner died after it started ssh: nothing will report this login's end, and a
          // login that went on would leave a master in the background that no one holds.
          if (pid !== undefined && exitStatus === undefined) {
            try {
              process.kill(pid, 'SIGTERM');
            } catch {
              // Exited already.
            }
          }
          // Lost before it reported the login: ssh may be logging in, with no pid known to stop.
          finish(null, null, sshNotStartedReason(cause), pid === undefined && cause.code === SPAWNER_LOST);
        },
        output: () => {},
        exit: (code, signal) => {
          exitStatus = { code, signal: signal as NodeJS.Signals | null };
        },
        end: () => finish(exitStatus?.code ?? null, exitStatus?.signal ?? null),
      },
    );
  });
  if (ended.lostUnreported) await stopUnreportedLogin(limits.tag, control);
  if (ended.exitCode === 0 && !ended.timedOut && !ended.aborted && (await isMasterUp(control))) return { ok: true };
  if (ended.notStarted !== undefined) return failed(ended.notStarted, null, ended);
  return failed(existsSync(logFile) ? readFileSync(logFile, 'utf8') : '', ended.exitCode, ended);
}

/**
 * Stops what a login whose spawner was lost before reporting it may have started (its foreground
 * ssh, or the master that one left in the background), found by the tag in its environment:
 * SIGTERM, which lets a master remove its socket, then SIGKILL to whatever is left after
 * KILL_GRACE_MS, and the socket such a master leaves is removed (the directory is this
 * transport's alone, and no master of it was up, or none would have been started).
 */
async function stopUnreportedLogin(tag: string, control: ControlSocket): Promise<void> {
  if (signalTaggedProcesses(tag, 'SIGTERM') === 0) return;
  const deadline = Date.now() + KILL_GRACE_MS;
  while (taggedProcesses(tag).length > 0) {
    if (Date.now() >= deadline) {
      killTaggedProcesses(tag);
      rmSync(control.socketPath, { force: true });
      return;
    }
    await sleep(20);
  }
}

/**
 * The master's pid, so the lifeline can stop it if nixfleet dies (CORE-011); undefined when it
 * cannot be told.
 */
export function masterPid(control: ControlSocket): Promise<number | undefined> {
  return askMasterPid(control.socketPath);
}

/** Asks the master to exit; bounded, and quiet when it is already gone. */
export async function stopMaster(control: ControlSocket): Promise<void> {
  if (!existsSync(control.socketPath)) return;
  await askMasterToExit(control.socketPath);
}
