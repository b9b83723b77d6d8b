// The renderer for logs and CI (no TTY, or CI set): one line per status change, prefixed by the
// host, never an escape code (CORE-002). Failures add the last lines of their output.
import { isTerminalCommand } from '../domain/status.js';
import { completedHostsOf } from '../engine/run-outcome.js';
import type { RunEvent } from '../engine/types.js';
import { formatElapsed } from './elapsed.js';
import type { RunRenderer } from './run-renderer.js';
import { applyRunEvent, batchLabel, createRunView, isFailure } from './run-view.js';
import { lastLines, stripTerminalCodes } from './terminal-text.js';

/** Lines of output shown under a failed command. */
const FAILURE_EXCERPT_LINES = 10;

export function createPlainRenderer(out: NodeJS.WritableStream): RunRenderer {
  const view = createRunView();
  const write = (line: string) => out.write(`${stripTerminalCodes(line)}\n`);

  const onEvent = (event: RunEvent) => {
    const command = applyRunEvent(view, event);
    switch (event.type) {
      case 'run_started':
        write(`run ${event.runId}: ${event.target} (${event.stages.length} stage(s)) on ${event.hosts.length} host(s)`);
        return;
      case 'batch_started':
        if ((view.rollout?.waves.length ?? 1) > 1) {
          write(`${batchLabel(view, event.batch)}: ${event.hosts.join(', ')}`);
        }
        return;
      case 'stage_started': {
        const batch = batchLabel(view, event.batch ?? null);
        write(`stage ${event.stage + 1}/${view.stages.length}: ${event.op}${batch ? ` (${batch})` : ''}`);
        return;
      }
      case 'armed_rollback':
        write(
          `[${event.hostId}] ${command?.op ?? ''} rollback timer ${event.state} (armed ${formatElapsed(event.delayMs)})`,
        );
        return;
      case 'command_status': {
        const what = event.rollbackOf ? `${event.op} rollback` : event.op;
        let line = `[${event.hostId}] ${what} ${event.status}`;
        if (event.status === 'EXECUTING' && event.attempt > 1) line += ` (attempt ${event.attempt})`;
        if (event.durationMs !== null) line += ` (${formatElapsed(event.durationMs)})`;
        if (event.error) line += `: ${event.error}`;
        write(line);
        const failedRollback = event.rollbackOf && isTerminalCommand(event.status) && event.status !== 'SUCCESS';
        if ((isFailure(event.status) || failedRollback) && command) {
          for (const text of lastLines(command.tail, FAILURE_EXCERPT_LINES)) write(`[${event.hostId}]   | ${text}`);
        }
        if (failedRollback)
          write(`[${event.hostId}] rollback ${event.commandId} failed: ${event.hostId} needs a person`);
        return;
      }
      case 'run_finished': {
        if (event.stopped) write(`rollout stopped: ${event.stopped}`);
        const elapsed = formatElapsed(event.at - view.startedAt);
        write(
          `run ${event.runId} ${event.status}: ${completedHostsOf(view.hosts, [...view.commands.values()]).length}/${view.hosts.length} host(s) completed (${elapsed})`,
        );
        return;
      }
      default:
        return;
    }
  };
  return { onEvent, finish: async () => {} };
}
