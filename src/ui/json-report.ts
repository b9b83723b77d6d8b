// The `--json` report of a run: one object, the only thing apply prints on stdout (CORE-002).
import type { ArmedState } from '../domain/armed-state.js';
import type { CommandStatus, RunStatus } from '../domain/status.js';
import { CONTROLLER_HOST_ID } from '../registry/types.js';
import { type CommandView, isFailure, isNotRun, notRunText, type RunView, rollbackOfCommand } from './run-view.js';

export interface JsonReportEntry {
  readonly op: string;
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  /** The rollout batch (0: canary), see CORE-008. */
  readonly batch: number | null;
  /** The rollback that ran after this command failed (CORE-009). */
  readonly rollback?: {
    readonly commandId: string;
    readonly status: CommandStatus;
    readonly exitCode: number | null;
    readonly durationMs: number | null;
    readonly error: string | null;
  };
  /** The armed rollback timer this command ran under (CORE-009). */
  readonly armed?: { readonly delayMs: number; readonly state: ArmedState };
}

export interface JsonReport {
  readonly runId: string;
  /** The run that `nixfleet retry` retried (as journaled), null for `apply` (see CORE-002). */
  readonly retryOf: string | null;
  readonly target: string;
  readonly status: RunStatus;
  /** Why the rollout stopped early (budget exceeded, canary failed), else null (see CORE-008). */
  readonly stopped: string | null;
  /** The hosts of the canary wave as the run had them (a count may be capped), [] without one (see CORE-008). */
  readonly canary: readonly string[];
  /** Per host (and `@controller` for controller ops), its commands in stage order. */
  readonly hosts: Record<string, JsonReportEntry[]>;
}

export function jsonReport(view: RunView): JsonReport {
  const hosts: Record<string, JsonReportEntry[]> = {};
  for (const host of view.hosts) hosts[host] = [];
  const ordered = [...view.commands.values()].filter((c) => c.rollbackOf === null).sort((a, b) => a.stage - b.stage);
  // The first failure of each host and of the controller, for the reason of what was not run
  // after it (as the plain output says it); the commands come in stage order.
  const failedFirst = new Map<string, CommandView>();
  for (const c of ordered) {
    const earlier = [failedFirst.get(c.hostId), failedFirst.get(CONTROLLER_HOST_ID)].find(
      (f) => f !== undefined && f.stage < c.stage,
    );
    if (isFailure(c.status) && !failedFirst.has(c.hostId)) failedFirst.set(c.hostId, c);
    hosts[c.hostId] ??= [];
    const rollback = rollbackOfCommand(view, c.commandId);
    hosts[c.hostId]!.push({
      op: c.op,
      status: c.status,
      exitCode: c.exitCode,
      durationMs: c.durationMs,
      error: isNotRun(c.status) ? notRunText(c, earlier) : c.error,
      batch: c.batch,
      ...(rollback
        ? {
            rollback: {
              commandId: rollback.commandId,
              status: rollback.status,
              exitCode: rollback.exitCode,
              durationMs: rollback.durationMs,
              error: rollback.error,
            },
          }
        : {}),
      ...(c.armed ? { armed: { ...c.armed } } : {}),
    });
  }
  return {
    runId: view.runId,
    retryOf: view.retryOf,
    target: view.target,
    status: view.status,
    stopped: view.stopped,
    canary: view.rollout?.canary ?? [],
    hosts,
  };
}
