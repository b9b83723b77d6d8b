// The terminal renderer (`apply`, `retry` and `watch --run` in a TTY, see CORE-002): one frame,
// redrawn in place a few times a second from the RunView, so a host's output tail is shown once
// (never stacked), a command's first output and its elapsed time appear at once, and queued hosts
// wait without a spinner. The frame always fits the terminal (fleet-frame.ts); at the end it is
// replaced by the final tree and the recap, which stay in the scrollback.
import { displayWidth } from '../domain/display-width.js';
import type { GlobalFlags } from '../domain/nixfleet-command.js';
import type { OutputStream } from '../domain/output-stream.js';
import type { RunEvent } from '../engine/types.js';
import { finalFrame, liveFrame } from './fleet-frame.js';
import { recapLines } from './run-recap.js';
import type { RunRenderer } from './run-renderer.js';
import { applyRunEvent, createRunView } from './run-view.js';

/** Redraws per second: enough for a spinner and elapsed tenths, little CPU on a loaded machine. */
const FRAME_INTERVAL_MS = 125;
/**
 * A status change is drawn at once, but never sooner than this after the last frame: a burst of
 * them (thousands of hosts finishing a stage) becomes one frame, not one frame each (CORE-002).
 */
const MIN_FRAME_GAP_MS = 40;
/**
 * And never sooner than this many times what the last frame took to build: however large the
 * run, drawing takes at most about a tenth of the event loop, which also times the commands.
 */
const FRAME_COST_FACTOR = 9;
const HIDE_CURSOR = '\u001b[?25l';
const SHOW_CURSOR = '\u001b[?25h';
// Auto-wrap off while the frame is live: a line the width guess got wrong is clipped by the
// terminal instead of wrapping, which would make the next redraw erase too few lines.
const NO_WRAP = '\u001b[?7l';
const WRAP = '\u001b[?7h';
const CLEAR_DOWN = '\u001b[J';

/** `flags`: the global flags the commands in hints repeat (CORE-002, hints). */
export function createTtyRenderer(
  out: OutputStream,
  flags: GlobalFlags = {},
): RunRenderer & Required<Pick<RunRenderer, 'log'>> {
  const view = createRunView();
  /** The columns each line of the frame on screen takes, and the terminal's width when it was drawn. */
  let drawnWidths: number[] = [];
  let drawnColumns = 0;
  let tick = 0;
  let timer: NodeJS.Timeout | undefined;
  let soon: NodeJS.Timeout | undefined;
  let lastFrameAt = 0;
  let lastFrameCost = 0;
  let live = false;

  const size = () => ({ rows: out.rows && out.rows > 2 ? out.rows : 24, columns: out.columns || 80 });
  const erase = () => {
    const rows = drawnRows(drawnWidths, drawnColumns, size().columns);
    return rows > 0 ? `\r\u001b[${rows}A${CLEAR_DOWN}` : `\r${CLEAR_DOWN}`;
  };
  const draw = () => {
    const began = performance.now();
    lastFrameAt = Date.now();
    const now = size();
    const lines = liveFrame(view, now, lastFrameAt, tick++);
    out.write(`${erase()}${lines.join('\n')}\n`);
    drawnWidths = lines.map(displayWidth);
    drawnColumns = now.columns;
    lastFrameCost = performance.now() - began;
  };
  const gap = () => Math.max(MIN_FRAME_GAP_MS, FRAME_COST_FACTOR * lastFrameCost);
  const drawSoon = () => {
    if (soon !== undefined) return;
    const wait = lastFrameAt + gap() - Date.now();
    if (wait <= 0) {
      draw();
      return;
    }
    soon = setTimeout(() => {
      soon = undefined;
      if (live) draw();
    }, wait);
    soon.unref();
  };
  // A resized terminal is redrawn at once (or with the next frame, while a window is dragged),
  // at its new size; erase() works out what the resize did to the frame on screen.
  const onResize = () => {
    if (live) drawSoon();
  };
  const restore = () => out.write(`${WRAP}${SHOW_CURSOR}`);
  // If nixfleet dies mid-frame the terminal must not be left without a cursor or line wrapping.
  const onExit = () => restore();

  const stop = () => {
    if (timer !== undefined) clearInterval(timer);
    clearTimeout(soon);
    timer = undefined;
    soon = undefined;
    if (!live) return;
    live = false;
    out.write(`${erase()}${WRAP}${SHOW_CURSOR}`);
    drawnWidths = [];
    process.off('exit', onExit);
    out.off('resize', onResize);
  };

  const onEvent = (event: RunEvent) => {
    applyRunEvent(view, event);
    if (event.type === 'run_started') {
      out.write(`run ${event.runId}: ${event.target} on ${event.hosts.length} host(s)\n`);
      live = true;
      process.on('exit', onExit);
      out.on('resize', onResize);
      out.write(`${HIDE_CURSOR}${NO_WRAP}`);
      draw();
      // The spinner's frames, unless the last frame was too recent for its cost.
      timer = setInterval(() => {
        if (Date.now() - lastFrameAt >= gap()) draw();
      }, FRAME_INTERVAL_MS);
      timer.unref();
    } else if (event.type === 'run_finished') stop();
    // Status changes and a rollout's pause show at once (or with the next frame, in a burst);
    // output and elapsed time wait for the next frame.
    else if ((event.type === 'command_status' || event.type === 'rollout_paused') && live) drawSoon();
  };

  return {
    onEvent,
    // `to`: stderr for errors. On the terminal it shares with `out`, the frame is erased first and
    // drawn again below: written under the frame, the next frame's erase took the lines with it.
    log(text, to = out) {
      if (!live) {
        to.write(`${text}\n`);
        return;
      }
      // Wrapped like any line: only the frame is drawn with auto-wrap off.
      out.write(`${erase()}${WRAP}`);
      to.write(`${text}\n`);
      out.write(NO_WRAP);
      drawnWidths = [];
      draw();
    },
    finish: async () => {
      stop();
      const { columns } = size();
      out.write(`${[...finalFrame(view, columns), ...recapLines(view, flags)].join('\n')}\n`);
    },
  };
}

/**
 * The rows the frame on screen takes now. Drawn with auto-wrap off and cut to the width, each
 * line took one row; but a terminal made narrower since reflows each line wider than its new width
 * onto several rows (most do today: xterm.js, which the tests use, VTE, kitty, iTerm2), and erasing
 * one row per line left the top of the old frame above the new one. A terminal that clips instead of
 * reflowing has fewer rows to erase than this, and loses as many rows above the frame: a cleaner
 * screen than a stale frame.
 */
function drawnRows(widths: readonly number[], drawnColumns: number, columns: number): number {
  if (columns >= drawnColumns) return widths.length;
  return widths.reduce((rows, width) => rows + Math.max(1, Math.ceil(width / columns)), 0);
}
