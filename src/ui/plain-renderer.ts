// The renderer for logs and CI (no TTY, or CI set; see CORE-002, plain output): one line per
// finished command, prefixed by the host, never an escape code; a command still running after a
// few seconds gets one line saying so; failures add the last lines of their output; the run ends
// with the recap. Under GitHub Actions each stage is a collapsible group and each host that failed
// becomes an error annotation.
import type { RunEvent } from '../engine/types.js';
import { formatElapsed } from './elapsed.js';
import { annotationError, groupEnd, groupStart } from './github-actions.js';
import { failureText, hostLabel, hostRecaps, recapLines } from './run-recap.js';
import type { RunRenderer } from './run-renderer.js';
import { applyRunEvent, createRunView, isFailure, isNotRun, isRunning, notRunReason } from './run-view.js';
import { lastLines, stripTerminalCodes } from './terminal-text.js';

/** Lines of output shown under a failed command. */
const FAILURE_EXCERPT_LINES = 10;
/** A command still running this long gets a line, so a log shows what a stuck run is waiting on. */
export const START_LINE_AFTER_MS = 5000;

export interface PlainRendererOptions {
  /** GITHUB_ACTIONS=true: workflow commands for groups and error annotations. */
  readonly github?: boolean;
}

export function createPlainRenderer(out: NodeJS.WritableStream, options: PlainRendererOptions = {}): RunRenderer {
  const view = createRunView();
  const write = (line: string) => out.write(`${stripTerminalCodes(line)}\n`);
  const announced = new Set<string>();
  let openGroup = false;
  let timer: NodeJS.Timeout | undefined;

  const announceLongRunning = () => {
    const now = Date.now();
    for (const c of view.commands.values()) {
      if (!isRunning(c.status) || c.startedAt === null || announced.has(c.commandId)) continue;
      if (now - c.startedAt < START_LINE_AFTER_MS) continue;
      announced.add(c.commandId);
      write(`[${c.hostId}] ${c.op} running (${formatElapsed(now - c.startedAt)} so far)`);
    }
  };
  const closeGroup = () => {
    if (options.github && openGroup) out.write(`${groupEnd()}\n`);
    openGroup = false;
  };

  const onEvent = (event: RunEvent) => {
    const command = applyRunEvent(view, event);
    switch (event.type) {
      case 'run_started':
        write(`run ${event.runId}: ${event.target} (${event.stages.length} stage(s)) on ${event.hosts.length} host(s)`);
        timer = setInterval(announceLongRunning, 500);
        timer.unref();
        return;
      case 'stage_started': {
        const title = `stage ${event.stage + 1}/${view.stages.length}: ${event.op}`;
        closeGroup();
        if (options.github) {
          out.write(`${groupStart(title)}\n`);
          openGroup = true;
        } else write(title);
        return;
      }
      case 'stage_finished':
        closeGroup();
        return;
      case 'command_status': {
        if (!command) return;
        const host = `[${event.hostId}]`;
        if (event.status === 'EXECUTING' && event.attempt > 1) {
          write(`${host} ${event.op} failed, retrying (attempt ${event.attempt})`);
          return;
        }
        if (event.status === 'SUCCESS') write(`${host} ${event.op} SUCCESS${duration(event.durationMs)}`);
        else if (isNotRun(event.status)) write(`${host} ${event.op} ${event.status} (${notRunReason(view, command)})`);
        else if (isFailure(event.status)) {
          write(
            `${host} ${event.op} ${event.status}${duration(event.durationMs)}${event.error ? `: ${event.error}` : ''}`,
          );
          for (const text of lastLines(command.tail, FAILURE_EXCERPT_LINES)) write(`${host}   | ${text}`);
        }
        return;
      }
      case 'run_finished': {
        if (timer !== undefined) clearInterval(timer);
        closeGroup();
        for (const line of recapLines(view)) write(line);
        if (options.github) {
          const commands = [...view.commands.values()];
          for (const r of hostRecaps(view)) {
            const failed = commands.find((c) => c.hostId === r.hostId && isFailure(c.status));
            if (failed)
              out.write(
                `${annotationError(`${hostLabel(r.hostId)}: ${failureText(failed)}`, `nixfleet ${view.runId}: ${hostLabel(r.hostId)} failed`)}\n`,
              );
          }
        }
        return;
      }
      default:
        return;
    }
  };
  return {
    onEvent,
    finish: async () => {
      if (timer !== undefined) clearInterval(timer);
    },
  };
}

function duration(ms: number | null): string {
  return ms === null ? '' : ` (${formatElapsed(ms)})`;
}
