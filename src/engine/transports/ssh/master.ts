// The multiplexing master of one host (see CORE-007, multiplexing): opened once, shared by every
// command of the run, closed with `ssh -O exit`. Its stderr goes to a file beside the socket: the
// master lives on in the background and would hold a pipe open for as long as it runs.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { spawnFailureReason, tryStart } from '../spawn-failure.js';
import { type ConnectionOptions, connectionArgs, controlPathOption, sshArgs } from './arguments.js';
import type { ControlSocket } from './control-socket.js';

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
      readonly timedOut: boolean;
      readonly aborted: boolean;
    };

export function isMasterUp(control: ControlSocket): boolean {
  return existsSync(control.socketPath);
}

export async function startMaster(
  connection: ConnectionOptions,
  control: ControlSocket,
  limits: { timeoutMs: number; signal?: AbortSignal },
): Promise<MasterStart> {
  const logFile = join(control.directory, 'master.log');
  const mode = { kind: 'master', socketPath: control.socketPath, persistSeconds: MASTER_PERSIST_SECONDS } as const;
  const started = tryStart(() =>
    execa('ssh', sshArgs(connection, mode), {
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: { file: logFile },
      reject: false,
      timeout: Math.max(1, limits.timeoutMs),
      cancelSignal: limits.signal,
    }),
  );
  if (!('child' in started)) {
    const stderr = spawnFailureReason(started.cause, 'ssh');
    return { ok: false, stderr, exitCode: null, timedOut: false, aborted: false };
  }
  const result = await started.child;
  if (result.exitCode === 0 && isMasterUp(control)) return { ok: true };
  const stderr = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
  return {
    ok: false,
    stderr: result.failed && result.code === 'ENOENT' ? 'no `ssh` client on PATH (install OpenSSH)' : stderr,
    exitCode: result.exitCode ?? null,
    timedOut: result.timedOut,
    aborted: result.isCanceled,
  };
}

/**
 * The master's pid (`ssh -O check` says `Master running (pid=N)`), so the lifeline can stop it if
 * nixfleet dies (CORE-011); undefined when it cannot be told.
 */
export async function masterPid(connection: ConnectionOptions, control: ControlSocket): Promise<number | undefined> {
  const result = await execa('ssh', controlArgs(connection, control, 'check'), {
    stdin: 'ignore',
    reject: false,
    timeout: 5_000,
  });
  const match = /pid=(\d+)/.exec(`${result.stderr}\n${result.stdout}`);
  return match ? Number(match[1]) : undefined;
}

/** Asks the master to exit; bounded, and quiet when it is already gone. */
export async function stopMaster(connection: ConnectionOptions, control: ControlSocket): Promise<void> {
  if (!isMasterUp(control)) return;
  await execa('ssh', controlArgs(connection, control, 'exit'), { stdin: 'ignore', reject: false, timeout: 5_000 });
}

function controlArgs(connection: ConnectionOptions, control: ControlSocket, command: 'check' | 'exit'): string[] {
  return [
    ...connectionArgs(connection),
    '-o',
    controlPathOption(control.socketPath),
    '-O',
    command,
    '--',
    connection.host.address,
  ];
}
