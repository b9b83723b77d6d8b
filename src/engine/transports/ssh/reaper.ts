// Ends a remote command's process group from a second ssh invocation (see CORE-007, timeouts):
// SIGTERM or SIGKILL now, SIGKILL after the grace period for anything that survives.
import { execa } from 'execa';
import { inheritedEnvironment } from '../../command-environment.js';
import { tryStart } from '../spawn-failure.js';
import { type ConnectionOptions, type ControlMode, connectTimeoutSeconds, sshArgs } from './arguments.js';
import { buildReaperCommand } from './remote-command.js';

export type StopSignal = 'TERM' | 'KILL';

/** CORE-001 (TIMEOUT): SIGTERM first, SIGKILL this long after if anything survives. */
export const KILL_GRACE_MS = 5_000;
/** How long the reaper may spend in its SIGKILL passes by tag before nixfleet stops waiting for it. */
const TAG_KILL_MS = 5_000;

export async function stopRemoteGroup(
  connection: ConnectionOptions,
  mode: ControlMode,
  pgid: number,
  first: StopSignal,
  tag?: string,
): Promise<StopSignal | null> {
  const remote = buildReaperCommand(pgid, first, KILL_GRACE_MS, tag);
  // Bounded: connecting (when there is no master), the grace period, SIGKILL by tag until two passes
  // in a row find nothing (CORE-011), and a margin.
  const deadlineMs = connectTimeoutSeconds(connection.settings) * 1000 + KILL_GRACE_MS + TAG_KILL_MS + 3_000;
  // Without nixfleet's own secrets (command-environment.ts); execa would add process.env back.
  const started = tryStart(() =>
    execa('ssh', sshArgs(connection, mode, remote), {
      stdin: 'ignore',
      reject: false,
      env: inheritedEnvironment(),
      extendEnv: false,
    }),
  );
  // ssh that cannot even start cannot stop anything (see spawn-failure.ts).
  if (!('child' in started)) return null;
  const reaper = started.child;
  // Not execa's timeout: over a master, ssh hands its output to the master, which keeps it open
  // while the host does not answer (a frozen host), so a killed ssh's result would wait for that
  // output forever. At the deadline ssh is killed, its output dropped, and nobody waits.
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => {
      reaper.kill('SIGKILL');
      reaper.stdout?.destroy();
      reaper.stderr?.destroy();
      resolve(undefined);
    }, deadlineMs);
  });
  const result = await Promise.race([reaper, gaveUp]);
  clearTimeout(timer);
  const said = String(result?.stdout ?? '').trim();
  return said === 'TERM' || said === 'KILL' ? said : null;
}
