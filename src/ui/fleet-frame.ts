// What the terminal shows of a run, as lines that fit the screen (see CORE-002, the terminal
// view). Pure: the tty renderer redraws it in place. Like Colmena's view, running and failed hosts
// get lines of their own and every other host is a count on its stage's line; when that does not
// fit the terminal's height, the frame drops detail in steps (output tails first, then one line
// per running host), so the failures and the counts stay on screen at any fleet size.
import { formatElapsed } from './elapsed.js';
import { failureText, hostLabel } from './run-recap.js';
import { type CommandView, commandsOfStage, isFailure, isNotRun, isRunning, type RunView } from './run-view.js';
import { lastLines } from './terminal-text.js';

export interface FrameSize {
  readonly rows: number;
  readonly columns: number;
}

/** Output lines shown under a running or failed host at full detail. */
export const TAIL_LINES = 3;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/** How much a frame shows, from most to least. */
type Detail = 'full' | 'one-line' | 'running-collapsed' | 'failed-collapsed';
const DETAILS: readonly Detail[] = ['full', 'one-line', 'running-collapsed', 'failed-collapsed'];

interface StageCounts {
  ok: number;
  failed: number;
  notRun: number;
  running: number;
  queued: number;
}

/** The live frame: at most `rows - 1` lines (the cursor needs the last), none wider than the terminal. */
export function liveFrame(view: RunView, size: FrameSize, now: number, tick: number): string[] {
  const height = Math.max(1, size.rows - 1);
  let lines: string[] = [];
  for (const detail of DETAILS) {
    lines = frameLines(view, detail, now, tick);
    if (lines.length <= height) break;
  }
  if (lines.length > height) lines = [...lines.slice(0, height - 1), `… ${lines.length - height + 1} more line(s)`];
  return lines.map((line) => fitWidth(line, size.columns));
}

/** The frame left on screen when the run is over: every stage, every failure in full. */
export function finalFrame(view: RunView, columns: number): string[] {
  return frameLines(view, 'full', view.finishedAt ?? Date.now(), 0).map((line) => fitWidth(line, columns));
}

function frameLines(view: RunView, detail: Detail, now: number, tick: number): string[] {
  const spinner = SPINNER[tick % SPINNER.length]!;
  const lines: string[] = [];
  view.stages.forEach((op, stage) => {
    const commands = commandsOfStage(view, stage);
    const counts = countStage(commands);
    const started = view.startedStages.has(stage) || commands.every((c) => c.status !== 'PENDING');
    const finished = commands.length > 0 && counts.running === 0 && counts.queued === 0 && started;
    const symbol = !started ? '○' : !finished ? spinner : counts.failed > 0 ? '✖' : counts.ok > 0 ? '✔' : '-';
    const head = `${symbol} ${stage + 1}/${view.stages.length} ${op}`;
    const skipped = counts.notRun > 0 ? ` · ${counts.notRun} skipped` : '';
    lines.push(started ? `${head}  ${describeCounts(counts)}` : `${head}  waiting: ${counts.queued} host(s)${skipped}`);
    const failed = commands.filter((c) => isFailure(c.status));
    const running = commands.filter((c) => isRunning(c.status));
    if (detail === 'failed-collapsed' && failed.length > 0) {
      lines.push(`    ✖ ${failed.map((c) => `${hostLabel(c.hostId)} (${c.error ?? c.status})`).join(', ')}`);
    } else {
      for (const c of failed) {
        lines.push(`    ✖ ${hostLabel(c.hostId)} ${failureText(c)}${duration(c)}`);
        if (detail === 'full') for (const text of lastLines(c.tail, TAIL_LINES)) lines.push(`        | ${text}`);
      }
    }
    if (running.length === 0) return;
    if (detail === 'running-collapsed' || detail === 'failed-collapsed') {
      lines.push(`    ${spinner} ${running.map((c) => `${hostLabel(c.hostId)} ${elapsed(c, now)}`).join(', ')}`);
      return;
    }
    for (const c of running) {
      const tail = lastLines(c.tail, detail === 'full' ? TAIL_LINES : 1);
      const attempt = c.attempt > 1 ? ` (attempt ${c.attempt})` : '';
      const checking = c.status === 'VALIDATING' ? ' precheck' : '';
      const head = `    ${spinner} ${hostLabel(c.hostId)} ${elapsed(c, now)}${checking}${attempt}`;
      if (detail === 'full') {
        lines.push(head);
        for (const text of tail) lines.push(`        › ${text}`);
      } else lines.push(tail.length > 0 ? `${head}  › ${tail[0]}` : head);
    }
  });
  return lines;
}

function countStage(commands: readonly CommandView[]): StageCounts {
  const counts: StageCounts = { ok: 0, failed: 0, notRun: 0, running: 0, queued: 0 };
  for (const c of commands) {
    if (c.status === 'SUCCESS') counts.ok++;
    else if (isFailure(c.status)) counts.failed++;
    else if (isNotRun(c.status)) counts.notRun++;
    else if (isRunning(c.status)) counts.running++;
    else counts.queued++;
  }
  return counts;
}

function describeCounts(counts: StageCounts): string {
  const parts: string[] = [];
  if (counts.running > 0) parts.push(`${counts.running} running`);
  if (counts.queued > 0) parts.push(`${counts.queued} queued`);
  parts.push(`${counts.ok} ok`);
  if (counts.failed > 0) parts.push(`${counts.failed} failed`);
  if (counts.notRun > 0) parts.push(`${counts.notRun} skipped`);
  return parts.join(' · ');
}

function elapsed(c: CommandView, now: number): string {
  return c.startedAt === null ? '' : formatElapsed(Math.max(0, now - c.startedAt));
}

function duration(c: CommandView): string {
  return c.durationMs === null ? '' : ` (${formatElapsed(c.durationMs)})`;
}

/** Cuts a line to the terminal's width, so no line wraps and the redraw count stays exact. */
export function fitWidth(line: string, columns: number): string {
  const chars = Array.from(line);
  if (chars.length < columns) return line;
  return `${chars.slice(0, Math.max(1, columns - 2)).join('')}…`;
}
