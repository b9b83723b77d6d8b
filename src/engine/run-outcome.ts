// The final status of a run and its exit code, from its commands' statuses (see CORE-002 and
// its sections on run statuses and exit codes). Pure.

import type { CommandStatus, RunStatus } from '../domain/status.js';
import { EXIT } from '../errors/user-error.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';

export interface CommandSummary {
  readonly hostId: string;
  readonly status: CommandStatus;
}

/**
 * COMPLETE when every host finished every stage, PARTIAL when some did, FAILED when none did,
 * CANCELLED when a cancel was requested before the end. A failed controller op fails every host.
 * A rollout stopped by its failure budget or a failed canary is FAILED (see CORE-008).
 */
export function runStatusOf(
  hosts: readonly string[],
  commands: readonly CommandSummary[],
  cancelled: boolean,
  rolloutStopped = false,
): RunStatus {
  // `rolloutStopped` only for a rollout that stopped before any cancel was seen (the executor
  // stops deciding once one is) and whose later cancel killed no op command (CORE-008, statuses).
  if (rolloutStopped) return 'FAILED';
  if (cancelled) return 'CANCELLED';
  const completed = completedHostsOf(hosts, commands).length;
  if (completed === hosts.length) return 'COMPLETE';
  return completed > 0 ? 'PARTIAL' : 'FAILED';
}

/** The hosts that finished every stage they had: all their commands, and every controller op, SUCCESS. */
export function completedHostsOf(hosts: readonly string[], commands: readonly CommandSummary[]): string[] {
  if (commands.some((c) => c.hostId === CONTROLLER_HOST_ID && c.status !== 'SUCCESS')) return [];
  // One pass over the commands, not one per host: a 3,000-host run has 9,000 of them.
  const unfinished = new Set(commands.filter((c) => c.status !== 'SUCCESS').map((c) => c.hostId));
  return hosts.filter((host) => !unfinished.has(host));
}

/** 3 (BLOCKED) when prechecks blocked everything and no op ran; otherwise by run status. */
export function exitCodeOf(status: RunStatus, commands: readonly CommandSummary[]): number {
  if (status === 'COMPLETE') return EXIT.OK;
  if (status === 'CANCELLED') return EXIT.CANCELLED;
  const nothingRan = commands.every((c) => c.status === 'BLOCKED' || c.status === 'SKIPPED');
  if (nothingRan && commands.some((c) => c.status === 'BLOCKED')) return EXIT.BLOCKED;
  return EXIT.FAILED;
}
