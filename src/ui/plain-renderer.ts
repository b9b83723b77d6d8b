// The renderer for logs and CI (no TTY, or CI set; see CORE-002, plain output): one line per
// finished command, prefixed by the host, never an escape code; a command still running after a
// few seconds gets one line saying so; failures add the last lines of their output; each stage
// ends with a line of its totals (per wave in a rollout); the run ends with the recap. A rollout's waves and a failed op's rollback get lines of their own (CORE-008,
// CORE-009). Under GitHub Actions each stage is a collapsible group and each host that failed
// becomes an error annotation, up to the number GitHub shows.

import { formatDuration } from '../config/duration.js';
import { groupBy } from '../domain/group-by.js';
import { hostNames, LISTED_HOSTS } from '../domain/host-names.js';
import { type GlobalFlags, nixfleetCommand } from '../domain/nixfleet-command.js';
import type { OutputStream } from '../domain/output-stream.js';
import { isTerminalCommand } from '../domain/status.js';
import { lastLines, oneLine } from '../domain/terminal-text.js';
import type { RunEvent } from '../engine/types.js';
import { formatElapsed } from './elapsed.js';
import { annotationError, groupEnd, groupStart } from './github-actions.js';
import { hostLabel } from './host-label.js';
import { hostRecaps, recapLines } from './run-recap.js';
import type { RunRenderer } from './run-renderer.js';
import {
  applyRunEvent,
  batchLabel,
  type CommandView,
  countStatuses,
  createRunView,
  isFailure,
  isNotRun,
  isRunning,
  notRunReason,
  type RunView,
} from './run-view.js';

/** Lines of output shown under a failed command. */
const FAILURE_EXCERPT_LINES = 10;
/** A command still running this long gets a line, so a log shows what a stuck run is waiting on. */
export const START_LINE_AFTER_MS = 5000;
/** GitHub shows at most 10 error annotations per step: past that, 9 hosts and one saying how many more. */
const ANNOTATION_LIMIT = 10;

export interface PlainRendererOptions {
  /** GITHUB_ACTIONS=true: workflow commands for groups and error annotations. */
  readonly github?: boolean;
  /** The global flags the commands in hints repeat (CORE-002, hints). */
  readonly flags?: GlobalFlags;
}

export function createPlainRenderer(out: OutputStream, options: PlainRendererOptions = {}): RunRenderer {
  const view = createRunView();
  // Every line is one line: a reason or a name cannot start another (nor a `::` workflow command).
  const write = (line: string) => out.write(`${oneLine(line)}\n`);
  const announced = new Set<string>();
  // The commands of each stage of each wave (`stage/batch`), for the line of totals when it ends.
  let byStageAndWave = new Map<string, CommandView[]>();
  let openStage: { stage: number; batch: number | null; title: string } | undefined;
  let openGroup = false;
  let timer: NodeJS.Timeout | undefined;

  const announceLongRunning = () => {
    const now = Date.now();
    for (const c of view.commands.values()) {
      if (!isRunning(c.status) || c.startedAt === null || announced.has(c.commandId)) continue;
      if (now - c.startedAt < START_LINE_AFTER_MS) continue;
      announced.add(c.commandId);
      const what = c.rollbackOf === null ? c.op : `${c.op} rollback`;
      write(`[${c.hostId}] ${what} running (${formatElapsed(now - c.startedAt)} so far)`);
    }
  };
  const closeGroup = () => {
    if (options.github && openGroup) out.write(`${groupEnd()}\n`);
    openGroup = false;
  };
  // SKIPPED and CANCELLED lines come in bursts (a failure budget or a cancel settles thousands of
  // commands at once): held until the burst ends, then a line each, or past LISTED_HOSTS one line
  // per op, status and reason naming a few of the hosts.
  let notRun: { hostId: string; text: string }[] = [];
  const flushNotRun = () => {
    const lines = notRun;
    notRun = [];
    if (lines.length <= LISTED_HOSTS) {
      for (const { hostId, text } of lines) write(`[${hostId}] ${text}`);
      return;
    }
    for (const [text, group] of groupBy(lines, (line) => line.text)) {
      const hosts = group.map((line) => line.hostId);
      if (hosts.length <= LISTED_HOSTS) for (const host of hosts) write(`[${host}] ${text}`);
      else write(`[${hosts.length} hosts] ${text}: ${hostNames(hosts)}`);
    }
  };
  const holdNotRun = (hostId: string, text: string) => {
    if (notRun.length === 0) queueMicrotask(flushNotRun);
    notRun.push({ hostId, text });
  };

  const onEvent = (event: RunEvent) => {
    const held = event.type === 'command_status' && isNotRun(event.status) && !event.rollbackOf;
    if (!held && notRun.length > 0) flushNotRun();
    const command = applyRunEvent(view, event);
    switch (event.type) {
      case 'run_started':
        write(`run ${event.runId}: ${event.target} (${event.stages.length} stage(s)) on ${event.hosts.length} host(s)`);
        byStageAndWave = groupBy(view.commands.values(), (c) => stageKey(c.stage, c.batch));
        timer = setInterval(announceLongRunning, 500);
        timer.unref();
        return;
      case 'rollout_paused':
        write(`rollout paused for ${formatDuration(event.ms)} before ${event.nextWave}`);
        return;
      case 'batch_started': {
        const label = batchLabel(view, event.batch);
        if (label !== null) write(`${label}: ${hostNames(event.hosts)}`);
        return;
      }
      case 'stage_started': {
        const batch = batchLabel(view, event.batch ?? null);
        const title = `stage ${event.stage + 1}/${view.stages.length}: ${event.op}${batch ? ` (${batch})` : ''}`;
        openStage = {
          stage: event.stage,
          batch: event.batch ?? null,
          title: `stage ${event.stage + 1}/${view.stages.length} ${event.op}${batch ? ` (${batch})` : ''}`,
        };
        closeGroup();
        if (options.github) {
          out.write(`${groupStart(title)}\n`);
          openGroup = true;
        } else write(title);
        return;
      }
      case 'stage_finished':
        // After the group's end, so the totals read in a log whose groups are all folded.
        closeGroup();
        if (openStage?.stage === event.stage) {
          const commands = byStageAndWave.get(stageKey(openStage.stage, openStage.batch)) ?? [];
          write(`${openStage.title}: ${stageTotals(commands)}`);
        }
        openStage = undefined;
        return;
      case 'armed_rollback':
        write(
          `[${event.hostId}] ${command?.op ?? ''} rollback timer ${event.state} (armed ${formatDuration(event.delayMs)})`,
        );
        return;
      case 'command_status': {
        if (!command) return;
        const host = `[${event.hostId}]`;
        const what = event.rollbackOf ? `${event.op} rollback` : event.op;
        if (event.status === 'EXECUTING' && event.attempt > 1) {
          const reason = event.retryReason ? `: ${event.retryReason}` : '';
          write(`${host} ${what} failed, retrying (attempt ${event.attempt})${reason}`);
          return;
        }
        // CORE-009: a rollback that did not succeed (even a killed one) leaves the host to a person.
        const failedRollback = event.rollbackOf && isTerminalCommand(event.status) && event.status !== 'SUCCESS';
        if (event.status === 'SUCCESS') write(`${host} ${what} SUCCESS${duration(event.durationMs)}`);
        else if (isNotRun(event.status) && !failedRollback)
          holdNotRun(event.hostId, `${what} ${event.status} (${notRunReason(view, command)})`);
        else if (isFailure(event.status) || failedRollback) {
          write(`${host} ${what} ${event.status}${duration(event.durationMs)}${event.error ? `: ${event.error}` : ''}`);
          for (const text of lastLines(command.tail, FAILURE_EXCERPT_LINES)) write(`${host}   | ${text}`);
          if (failedRollback) write(`${host} rollback ${event.commandId} failed: ${event.hostId} needs a person`);
          else if (event.rollbackId !== undefined) write(`${host} ${event.op} rolling back`);
        }
        return;
      }
      case 'run_finished': {
        if (timer !== undefined) clearInterval(timer);
        closeGroup();
        for (const line of recapLines(view, options.flags)) write(line);
        if (options.github) for (const line of failureAnnotations(view, options.flags)) out.write(`${line}\n`);
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
      // A run its journal stopped ends without run_finished: what is said about it next (on
      // stderr) must not be folded away in the last stage's group (CORE-002, GitHub Actions).
      closeGroup();
    },
  };
}

/**
 * An `::error` per failed host, up to ANNOTATION_LIMIT; past it the first hosts and one annotation
 * for the rest, pointing at where every one of them is (a 3,000-host run printed 322, of which
 * GitHub showed 10 and dropped the rest without a word).
 */
function failureAnnotations(view: RunView, flags: GlobalFlags | undefined): string[] {
  const failed = hostRecaps(view).filter((r) => r.failed > 0 && r.reason !== null);
  const shown = failed.length > ANNOTATION_LIMIT ? failed.slice(0, ANNOTATION_LIMIT - 1) : failed;
  const lines = shown.map((r) =>
    annotationError(`${hostLabel(r.hostId)}: ${r.reason}`, `nixfleet ${view.runId}: ${hostLabel(r.hostId)} failed`),
  );
  const more = failed.length - shown.length;
  if (more > 0) {
    lines.push(
      annotationError(
        `${more} more hosts failed: every one is in the recap at the end of this step's log, in the job summary and in \`${nixfleetCommand(`show ${view.runId}`, flags)}\``,
        `nixfleet ${view.runId}: ${more} more hosts failed`,
      ),
    );
  }
  return lines;
}

function stageKey(stage: number, batch: number | null): string {
  return `${stage}/${batch ?? ''}`;
}

/** `280 ok, 15 failed, 5 skipped, 2 cancelled`: skipped and cancelled only when there are some. */
function stageTotals(commands: readonly CommandView[]): string {
  const { ok, failed, skipped, cancelled } = countStatuses(commands);
  return [
    `${ok} ok`,
    `${failed} failed`,
    ...(skipped > 0 ? [`${skipped} skipped`] : []),
    ...(cancelled > 0 ? [`${cancelled} cancelled`] : []),
  ].join(', ');
}

function duration(ms: number | null): string {
  return ms === null ? '' : ` (${formatElapsed(ms)})`;
}
