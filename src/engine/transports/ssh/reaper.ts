// Ends a remote command's process group from a second ssh invocation (see CORE-007, timeouts):
// SIGTERM or SIGKILL now, SIGKILL after the grace period for anything that survives.
import { execa } from 'execa';
import { tryStart } from '../spawn-failure.js';
import { type ConnectionOptions, type ControlMode, connectTimeoutSeconds, sshArgs } from './arguments.js';
import { buildReaperCommand } from './remote-command.js';

export type StopSignal = 'TERM' | 'KILL';

/** CORE-001 (TIMEOUT): SIGTERM first, SIGKILL this long after if anything survives. */
export const KILL_GRACE_MS = 5_000;

export async function stopRemoteGroup(
  connection: ConnectionOptions,
  mode: ControlMode,
  pgid: number,
  first: StopSignal,
  tag?: string,
): Promise<StopSignal | null> {
  const remote = buildReaperCommand(pgid, first, KILL_GRACE_MS, tag);
  const started = tryStart(() =>
    execa('ssh', sshArgs(connection, mode, remote), {
      stdin: 'ignore',
      reject: false,
      // Bounded: connecting (when there is no master), the grace period, and a margin.
      timeout: connectTimeoutSeconds(connection.settings) * 1000 + KILL_GRACE_MS + 3_000,
    }),
  );
  // ssh that cannot even start cannot stop anything (see spawn-failure.ts).
  if (!('child' in started)) return null;
  const result = await started.child;
  const said = String(result.stdout).trim();
  return said === 'TERM' || said === 'KILL' ? said : null;
}
