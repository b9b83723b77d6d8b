// What the terminal shows of a run, as lines that fit the screen (see CORE-002, the terminal
// view). Pure: the tty renderer redraws it in place. Like Colmena's view, running and failed hosts
// get lines of their own and every other host is a count on its stage's line; when that does not
// fit the terminal's height, the frame drops detail in steps (output tails first, then one line
// per running host), so the failures and the counts stay on screen at any fleet size.

import { formatDuration } from '../config/duration.js';
import { displayWidth, fitsWidth, sliceEndToWidth, sliceToWidth } from '../domain/display-width.js';
import { LISTED_HOSTS } from '../domain/host-names.js';
import { lastLines } from '../domain/terminal-text.js';
import { failedHosts } from '../engine/rollout/scheduler.js';
import { formatElapsed } from './elapsed.js';
import { hostLabel, hostWithBatch } from './host-label.js';
import { armedText, rollbackFailureLines, rollbackText } from './rollback-text.js';
import { failureText } from './run-recap.js';
import {
  batchLabel,
  type CommandView,
  commandsOfStage,
  countStatuses,
  isFailure,
  isRollingBack,
  isRunning,
  type RunView,
  rollbackOfCommand,
  type StatusCounts,
} from './run-view.js';

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

interface StageCounts extends StatusCounts {
  /** Failed, with their rollback still running (CORE-009): the stage is not over for them. */
  rollingBack: number;
}

/** The live frame: at most `rows - 1` lines (the cursor needs the last), none wider than the terminal. */
export function liveFrame(view: RunView, size: FrameSize, now: number, tick: number): string[] {
  const height = Math.max(1, size.rows - 1);
  const fit: Fit = { columns: size.columns, final: false };
  // Every level but the last gives each failed host a line of its own: with more of them than the
  // screen has rows, building those levels (hundreds of fitted lines each) is wasted.
  const { failed } = countStatuses(view.commands.values());
  const details = failed + view.stages.length > height ? DETAILS.slice(-1) : DETAILS;
  let lines: string[] = [];
  for (const detail of details) {
    lines = frameLines(view, detail, now, tick, fit);
    if (lines.length <= height) break;
  }
  if (lines.length > height) lines = [...lines.slice(0, height - 1), `… ${lines.length - height + 1} more line(s)`];
  return lines.map((line) => fitWidth(line, size.columns));
}

/**
 * The frame left on screen when the run is over: every stage, every failure in full. It is
 * printed with line wrapping back on and never redrawn, so nixfleet's own lines are not cut (a
 * long one wraps, and every count and reason stays in the scrollback); commands' output lines
 * are, one row each, as in the live frame (`nixfleet logs` has them whole).
 */
export function finalFrame(view: RunView, columns: number): string[] {
  return frameLines(view, 'full', view.finishedAt ?? Date.now(), 0, { columns, final: true });
}

/** How a frame's lines are fitted to the terminal: see liveFrame and finalFrame. */
interface Fit {
  readonly columns: number;
  readonly final: boolean;
}

function frameLines(view: RunView, detail: Detail, now: number, tick: number, fit: Fit): string[] {
  const spinner = SPINNER[tick % SPINNER.length]!;
  const lines: string[] = [];
  const rollout = rolloutLine(view, now);
  if (rollout !== null) lines.push(rollout);
  view.stages.forEach((op, stage) => {
    const commands = commandsOfStage(view, stage);
    const counts = countStage(view, commands);
    const started = view.startedStages.has(stage) || commands.every((c) => c.status !== 'PENDING');
    const finished =
      commands.length > 0 && counts.running === 0 && counts.queued === 0 && counts.rollingBack === 0 && started;
    const symbol = !started ? '○' : !finished ? spinner : counts.failed > 0 ? '✖' : counts.ok > 0 ? '✔' : '-';
    const state = started
      ? describeCounts(counts)
      : [`waiting: ${counts.queued} host(s)`, ...notRunCounts(counts)].join(' · ');
    lines.push(say(fit, [`${symbol} ${stage + 1}/${view.stages.length} `, { name: op }, `  ${state}`]));
    const failed = commands.filter((c) => isFailure(c.status));
    const running = commands.filter((c) => isRunning(c.status));
    if (detail === 'failed-collapsed' && failed.length > 0) {
      lines.push(hostsOnOneLine(view, fit, '    ✖ ', failed, (c) => ` (${c.error ?? c.status})`));
    } else {
      for (const c of failed) lines.push(...failedHostLines(view, c, detail, fit));
    }
    if (running.length === 0) return;
    if (detail === 'running-collapsed' || detail === 'failed-collapsed') {
      lines.push(hostsOnOneLine(view, fit, `    ${spinner} `, running, (c) => ` ${elapsed(c, now)}`));
      return;
    }
    for (const c of running) {
      const tail = lastLines(c.tail, detail === 'full' ? TAIL_LINES : 1);
      const attempt = c.attempt > 1 ? ` (attempt ${c.attempt})` : '';
      const checking = c.status === 'VALIDATING' ? ' precheck' : '';
      const [host, batch] = hostPieces(view, c);
      const head = [`    ${spinner} `, host, `${batch} ${elapsed(c, now)}${checking}${attempt}${armedText(c)}`];
      if (detail === 'full') {
        lines.push(say(fit, head));
        for (const text of tail) lines.push(fitWidth(`        › ${text}`, fit.columns));
      } else lines.push(say(fit, head, tail.length > 0 ? `  › ${tail[0]}` : ''));
    }
  });
  return lines;
}

/** A part of a line: text that stays, or a name (a host's, an op's) that may be shortened. */
type Piece = string | { readonly name: string };

/** Names are never shortened below this many columns: `web-fr…st-01` still tells hosts apart. */
const NAME_FLOOR = 12;

/**
 * One of nixfleet's own lines. While live it is cut to the width, what matters least first: the
 * `rest` (an output line beside a host), then the names, in the middle, down to NAME_FLOOR, and
 * only then the end of the line. At 60 columns a long op or host name used to push a stage's
 * counts and a failed host's reason past the edge. In the final tree it is whole.
 */
function say(fit: Fit, pieces: readonly Piece[], rest = ''): string {
  const texts = fit.final ? pieces.map(pieceText) : shortenNames(pieces, fit.columns - 1);
  const line = `${texts.join('')}${rest}`;
  return fit.final ? line : fitWidth(line, fit.columns);
}

const pieceText = (piece: Piece) => (typeof piece === 'string' ? piece : piece.name);

/** The pieces' texts, their names shortened in order until the whole takes at most `room` columns. */
function shortenNames(pieces: readonly Piece[], room: number): string[] {
  const widths = pieces.map((piece) => displayWidth(pieceText(piece)));
  let over = widths.reduce((sum, width) => sum + width, 0) - room;
  return pieces.map((piece, i) => {
    if (typeof piece === 'string' || over <= 0) return pieceText(piece);
    const width = Math.max(Math.min(widths[i]!, NAME_FLOOR), widths[i]! - over);
    over -= widths[i]! - width;
    return shortenMiddle(piece.name, width);
  });
}

/** `web-frontend-eu-west-01` in 12 columns: `web-fr…st-01`; the end of a name tells hosts apart. */
function shortenMiddle(name: string, columns: number): string {
  if (fitsWidth(name, columns)) return name;
  const head = Math.ceil((columns - 1) / 2);
  return `${sliceToWidth(name, head)}…${sliceEndToWidth(name, columns - 1 - head)}`;
}

/**
 * Hosts of the compact form on one line, each with what `after` says of it: every one up to
 * LISTED_HOSTS, past that three and a count (CORE-002, output at any size), and fewer while the
 * line does not fit with their names shortened, down to one. Joined whole and cut at the end, one
 * long name hid the other hosts and every reason.
 */
function hostsOnOneLine(
  view: RunView,
  fit: Fit,
  lead: string,
  commands: readonly CommandView[],
  after: (c: CommandView) => string,
): string {
  const piecesFor = (count: number) => {
    const pieces: Piece[] = [lead];
    commands.slice(0, count).forEach((c, i) => {
      const [host, batch] = hostPieces(view, c);
      pieces.push(...(i > 0 ? [', '] : []), host, `${batch}${after(c)}`);
    });
    if (count < commands.length) pieces.push(` and ${commands.length - count} more`);
    return pieces;
  };
  let count = commands.length <= LISTED_HOSTS ? commands.length : 3;
  while (
    !fit.final &&
    count > 1 &&
    !fitsWidth(shortenNames(piecesFor(count), fit.columns - 1).join(''), fit.columns - 1)
  ) {
    count -= 1;
  }
  return say(fit, piecesFor(count));
}

/** A host's name, which may be shortened, and its batch label, which may not: `h2`, ` [batch 1/3]`. */
function hostPieces(view: RunView, c: CommandView): [Piece, string] {
  const name = hostLabel(c.hostId);
  return [{ name }, hostWithBatch(view, c).slice(name.length)];
}

/**
 * CORE-008: where a rollout of several waves stands, `rollout: batch 2/4 · failure budget 1/3
 * used`, or while it waits between waves `rollout: paused 30s before batch 2/4 (12s left)`, until
 * it ends (the recap then says how it went). Without the pause the frame sat still for as long as
 * the pause lasted, every stage of the next wave waiting, as if the run had hung.
 */
function rolloutLine(view: RunView, now: number): string | null {
  const batch = batchLabel(view, view.currentBatch);
  if (batch === null || view.finishedAt !== null) return null;
  // Hosts, as the scheduler's budget counts them.
  const failed = failedHosts([...view.commands.values()]);
  const limit = view.rollout?.maxFailures;
  const budget = limit === null || limit === undefined ? '' : ` · failure budget ${failed.size}/${limit} used`;
  return `rollout: ${view.pause ? pauseText(view.pause, now) : batch}${budget}`;
}

/** `paused 30s before batch 2/4 (12s left)`: whole seconds, rounded up, so 0s left is the end. */
function pauseText(pause: NonNullable<RunView['pause']>, now: number): string {
  const seconds = Math.max(0, Math.ceil((pause.until - now) / 1000));
  const left = seconds < 60 ? `${seconds}s` : formatElapsed(seconds * 1000);
  return `paused ${formatDuration(pause.ms)} before ${pause.nextWave} (${left} left)`;
}

/**
 * A failed host: its reason, and (CORE-009) its rollback: `, rolling back` with the rollback's
 * output while it runs (the host's line stays open), then `, rolled back` or, loudly, the failed
 * rollback's reason and output.
 */
function failedHostLines(view: RunView, c: CommandView, detail: Detail, fit: Fit): string[] {
  const rollback = rollbackOfCommand(view, c.commandId);
  const rollingBack = isRollingBack(view, c);
  const outcome = rollingBack ? ', rolling back' : rollback ? `, ${rollbackText(rollback)}` : '';
  const [host, batch] = hostPieces(view, c);
  // `deploy ERROR: exit code 3`: the op's name may be shortened, its status and reason not.
  const reason = `${failureText(c).slice(c.op.length)}${duration(c)}${armedText(c)}${outcome}`;
  const lines = [say(fit, ['    ✖ ', host, `${batch} `, { name: c.op }, reason])];
  if (detail !== 'full') return lines;
  const output = (text: string) => lines.push(fitWidth(`        ${text}`, fit.columns));
  for (const text of lastLines(c.tail, TAIL_LINES)) output(`| ${text}`);
  if (rollingBack && rollback) for (const text of lastLines(rollback.tail, TAIL_LINES)) output(`↺ ${text}`);
  else if (rollback) {
    const [why, ...tail] = rollbackFailureLines(rollback, TAIL_LINES);
    if (why !== undefined) lines.push(say(fit, [`        ${why}`]));
    for (const text of tail) output(text);
  }
  return lines;
}

function countStage(view: RunView, commands: readonly CommandView[]): StageCounts {
  let rollingBack = 0;
  for (const c of commands) if (isFailure(c.status) && isRollingBack(view, c)) rollingBack++;
  return { ...countStatuses(commands), rollingBack };
}

function describeCounts(counts: StageCounts): string {
  const parts: string[] = [];
  if (counts.running > 0) parts.push(`${counts.running} running`);
  if (counts.queued > 0) parts.push(`${counts.queued} queued`);
  parts.push(`${counts.ok} ok`);
  if (counts.failed > 0) parts.push(`${counts.failed} failed`);
  if (counts.rollingBack > 0) parts.push(`${counts.rollingBack} rolling back`);
  parts.push(...notRunCounts(counts));
  return parts.join(' · ');
}

function notRunCounts(counts: StageCounts): string[] {
  const parts: string[] = [];
  if (counts.skipped > 0) parts.push(`${counts.skipped} skipped`);
  if (counts.cancelled > 0) parts.push(`${counts.cancelled} cancelled`);
  return parts;
}

function elapsed(c: CommandView, now: number): string {
  return c.startedAt === null ? '' : formatElapsed(Math.max(0, now - c.startedAt));
}

function duration(c: CommandView): string {
  return c.durationMs === null ? '' : ` (${formatElapsed(c.durationMs)})`;
}

/**
 * Cuts a line to the terminal's width, so no line wraps and the redraw count stays exact. Counted
 * in columns, not characters: a CJK character or an emoji takes two (src/domain/display-width.ts).
 * The last column stays free, where some terminals wrap at once.
 */
export function fitWidth(line: string, columns: number): string {
  if (fitsWidth(line, columns - 1)) return line;
  return `${sliceToWidth(line, Math.max(1, columns - 2))}…`;
}
