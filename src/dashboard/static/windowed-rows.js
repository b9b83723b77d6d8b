// A long table drawn a window at a time (see CORE-004, "The page"): of a 3,000-host fleet only
// the rows in view in the table's scroll box, plus a margin each side, are in the DOM, so a
// delta costs the browser the style, layout and paint of about a hundred rows, not thousands.
// Every row of a table has one height (style.css), so row i sits at `base + i * pitch`; the rows
// above and below the window are stood in for by the table's top and bottom margins, and the
// scroll box keeps the height of the whole table. Rows in the window are kept from one draw to
// the next (keyed-rows.js).
import { syncRows } from './keyed-rows.js';

/** Rows drawn beyond each edge of the view: a fast scroll shows rows, not the empty margin. */
const MARGIN_ROWS = 40;
/** Until the first rows are measured (the measurement then redraws at once). */
const ESTIMATED_PITCH = 40;

/** scroll box -> { table, body, rows, toItem, scrollTop, height, pitch, base, shape, frame } */
const windows = new WeakMap();

/**
 * Shows in `table` (inside its scroll box `scroller`, its only content) the window of `rows` that
 * is in view. `toItem(row)` makes a row's keyed item (keyed-rows.js), only for rows in the
 * window. `shape` names the table's row height: a new shape measures the rows again.
 */
export function syncWindow(scroller, table, rows, toItem, shape = '') {
  let view = windows.get(scroller);
  if (view === undefined) {
    view = { scrollTop: scroller.scrollTop, height: window.innerHeight, pitch: null, base: 0, shape, frame: 0 };
    windows.set(scroller, view);
    listen(scroller, view);
  }
  if (shape !== view.shape) view.pitch = null;
  Object.assign(view, { table, body: table.tBodies[0], rows, toItem, shape });
  draw(view);
}

/** Scrolling and resizing redraw the window from the last rows given, once per frame. */
function listen(scroller, view) {
  const redraw = () => {
    if (view.frame !== 0) return;
    view.frame = requestAnimationFrame(() => {
      view.frame = 0;
      if (view.body.isConnected) draw(view);
    });
  };
  // Kept here, read when drawing: reading the scroll box itself in a render would make the
  // browser lay out the page right then.
  scroller.addEventListener(
    'scroll',
    () => {
      view.scrollTop = scroller.scrollTop;
      redraw();
    },
    { passive: true },
  );
  new ResizeObserver(([entry]) => {
    view.height = entry.contentRect.height;
    redraw();
  }).observe(scroller);
}

function draw(view) {
  const { rows, body, table } = view;
  const pitch = view.pitch ?? ESTIMATED_PITCH;
  const span = Math.ceil(view.height / pitch) + 1 + 2 * MARGIN_ROWS;
  const wanted = Math.floor((view.scrollTop - view.base) / pitch) - MARGIN_ROWS;
  // A box scrolled past the end of a shorter list (a filter, hosts removed) shows its last rows.
  const first = Math.max(0, Math.min(wanted, rows.length - span));
  const last = Math.min(rows.length, first + span);
  syncRows(body, rows.slice(first, last).map(view.toItem));
  // Through the CSSOM: the CSP forbids style attributes, not style properties.
  setMargin(table, 'marginTop', first * pitch);
  setMargin(table, 'marginBottom', (rows.length - last) * pitch);
  // Not in a hidden box (the grid below 640 px): there is nothing to measure until it shows, and
  // its ResizeObserver then draws again.
  if (view.pitch === null && view.height > 0 && body.rows.length >= 2) measure(view);
}

/** Touched only when it moves: the same window again (most deltas) leaves the layout alone. */
function setMargin(table, side, px) {
  const value = `${px}px`;
  if (table.style[side] !== value) table.style[side] = value;
}

/** The row pitch and the first row's offset (below the header), read once per shape. */
function measure(view) {
  const [a, b] = view.body.rows;
  const top = a.getBoundingClientRect().top;
  // Fractions kept: a rounded pitch would be thousands of rows times the rounding off.
  const pitch = b.getBoundingClientRect().top - top;
  if (!(pitch > 0)) return;
  view.pitch = pitch;
  view.base = top - view.table.getBoundingClientRect().top;
  if (pitch !== ESTIMATED_PITCH) draw(view);
}
