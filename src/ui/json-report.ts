// The `--json` report of a run: one object, the only thing apply prints on stdout (CORE-002).
import type { CommandStatus, RunStatus } from '../domain/status.js';
import type { RunView } from './run-view.js';

export interface JsonReportEntry {
  readonly op: string;
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  readonly durationMs: number | null;
  readonly error: string | null;
  /** The rollout batch (0: canary), see CORE-008. */
  readonly batch: number | null;
}

export interface JsonReport {
  readonly runId: string;
  readonly target: string;
  readonly status: RunStatus;
  /** Why the rollout stopped early (budget exceeded, canary failed), else null (see CORE-008). */
  readonly stopped: string | null;
  /** Per host (and `@controller` for controller ops), its commands in stage order. */
  readonly hosts: Record<string, JsonReportEntry[]>;
}

export function jsonReport(view: RunView): JsonReport {
  const hosts: Record<string, JsonReportEntry[]> = {};
  for (const host of view.hosts) hosts[host] = [];
  const ordered = [...view.commands.values()].sort((a, b) => a.stage - b.stage);
  for (const c of ordered) {
    hosts[c.hostId] ??= [];
    hosts[c.hostId]!.push({
      op: c.op,
      status: c.status,
      exitCode: c.exitCode,
      durationMs: c.durationMs,
      error: c.error,
      batch: c.batch,
    });
  }
  return { runId: view.runId, target: view.target, status: view.status, stopped: view.stopped, hosts };
}
