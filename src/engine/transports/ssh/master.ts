// The multiplexing master of one host (see CORE-007, multiplexing): opened once, shared by every
// command of the run, asked for its pid and asked to exit over its own control socket
// (mux-control.ts). Its stderr goes to a file beside the socket: the master lives on in the
// background and would hold a pipe open for as long as it runs.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PROCESS_TAG_VARIABLE } from '../../../domain/tagged-processes.js';
import { inheritedEnvironment } from '../../command-environment.js';
import { killedInItsFork, spawnFailureReason, tryStart } from '../spawn-failure.js';
import { type ConnectionOptions, sshArgs } from './arguments.js';
import type { ControlSocket } from './control-socket.js';
import { askMasterPid, askMasterToExit } from './mux-control.js';

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
    };

export function isMasterUp(control: ControlSocket): boolean {
  return existsSync(control.socketPath);
}

export interface MasterLimits {
  readonly timeoutMs: number;
  readonly signal?: AbortSignal | undefined;
  /** Put in ssh's environment as NIXFLEET_PROCESS_TAG, for the lifeline (CORE-011, "The ssh master"). */
  readonly tag: string;
}

/**
 * Runs `ssh -N -f` with the master's options and waits for its foreground process: it exits 0
 * once the connection is up and the socket listens, or 255 with the reason in the log. Node's own
 * spawn, as for sessions (CORE-007, "Against bare OpenSSH"); in a session of its own, so that a
 * Ctrl-C at the terminal does not end a login that is under way (CORE-002). One killed while it
 * was being forked ran nothing and is started again, once (CORE-011, "A Ctrl-C during a fork").
 */
export async function startMaster(
  connection: ConnectionOptions,
  control: ControlSocket,
  limits: MasterLimits,
): Promise<MasterStart> {
  const first = await attemptMaster(connection, control, limits);
  return !first.ok && killedInItsFork(first.signal) ? attemptMaster(connection, control, limits) : first;
}

async function attemptMaster(
  connection: ConnectionOptions,
  control: ControlSocket,
  limits: MasterLimits,
): Promise<MasterStart> {
  const failed = (
    stderr: string,
    exitCode: number | null,
    end: { signal?: NodeJS.Signals | null; timedOut?: boolean; aborted?: boolean } = {},
  ): MasterStart => ({
    ok: false,
    stderr,
    exitCode,
    signal: end.signal ?? null,
    timedOut: end.timedOut ?? false,
    aborted: end.aborted ?? false,
  });
  if (limits.signal?.aborted) return failed('', null, { aborted: true });
  const logFile = join(control.directory, 'master.log');
  const mode = { kind: 'master', socketPath: control.socketPath, persistSeconds: MASTER_PERSIST_SECONDS } as const;
  let log: number;
  try {
    log = openSync(logFile, 'w', 0o600);
  } catch (error) {
    return failed(`cannot write the connection log ${logFile}: ${(error as Error).message}`, null);
  }
  const started = tryStart(() =>
    spawn('ssh', sshArgs(connection, mode), {
      stdio: ['ignore', 'ignore', log],
      detached: true,
      // Without nixfleet's own secrets (command-environment.ts): the master's ProxyCommand inherits it.
      env: { ...inheritedEnvironment(), [PROCESS_TAG_VARIABLE]: limits.tag },
    }),
  );
  closeSync(log);
  if (!('child' in started)) return failed(spawnFailureReason(started.cause, 'ssh'), null);
  const { child } = started;
  const ended = await new Promise<{
    exitCode: number | null;
    signal: NodeJS.Signals | null;
    missing: boolean;
    timedOut: boolean;
    aborted: boolean;
  }>((resolve) => {
    let timedOut = false;
    let aborted = false;
    const timer = setTimeout(
      () => {
        timedOut = true;
        child.kill('SIGTERM');
      },
      Math.max(1, limits.timeoutMs),
    );
    const onAbort = () => {
      aborted = true;
      child.kill('SIGTERM');
    };
    limits.signal?.addEventListener('abort', onAbort, { once: true });
    let settled = false;
    const finish = (exitCode: number | null, signal: NodeJS.Signals | null, error?: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      limits.signal?.removeEventListener('abort', onAbort);
      resolve({ exitCode, signal, missing: error?.code === 'ENOENT', timedOut, aborted });
    };
    child.once('error', (error: NodeJS.ErrnoException) => finish(null, null, error));
    child.once('exit', (exitCode, signal) => finish(exitCode, signal));
  });
  if (ended.exitCode === 0 && !ended.timedOut && !ended.aborted && isMasterUp(control)) return { ok: true };
  const stderr = ended.missing
    ? 'no `ssh` client on PATH (install OpenSSH)'
    : existsSync(logFile)
      ? readFileSync(logFile, 'utf8')
      : '';
  return failed(stderr, ended.exitCode, ended);
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
  if (!isMasterUp(control)) return;
  await askMasterToExit(control.socketPath);
}
