// Table rows (or list items, or any element's children) kept from one render to the next (see
// CORE-004, "The page"). A row is rebuilt only when one of the values it was drawn from changed,
// and rows are moved only when their order changed. sync-client.js replaces a changed record with
// a new object and leaves the others as they are, so comparing those values by identity finds
// exactly the rows a delta touched: with thousands of hosts, one changed row is redrawn instead of
// all of them (bench/dashboard.bench.mjs measures it). A kept element also keeps the pointer: a
// button rebuilt between the press and the release of a click never gets the click.

/** parent (a tbody, a list) -> Map(key -> { node, inputs }) */
const drawn = new WeakMap();

/**
 * Makes `parent`'s children (rows, list items) those of `items`, in order. Each item is
 * `{ key, inputs, build }`: `inputs` is the list of every value the row shows (records, strings,
 * flags), `build()` makes the row.
 */
export function syncRows(parent, items) {
  const previous = drawn.get(parent) ?? new Map();
  const next = new Map();
  const nodes = [];
  for (const item of items) {
    const old = previous.get(item.key);
    let entry = old;
    if (old === undefined || !sameInputs(old.inputs, item.inputs)) {
      entry = { node: item.build(), inputs: item.inputs };
      if (old !== undefined && old.node.parentNode === parent) old.node.replaceWith(entry.node);
    }
    next.set(item.key, entry);
    nodes.push(entry.node);
  }
  drawn.set(parent, next);
  // Rows that are gone leave first, so that the pass below only moves rows that really moved.
  const wanted = new Set(nodes);
  for (const child of [...parent.children]) if (!wanted.has(child)) child.remove();
  let cursor = parent.firstElementChild;
  for (const node of nodes) {
    if (cursor === node) cursor = cursor.nextElementSibling;
    else parent.insertBefore(node, cursor);
  }
}

/** parent -> the inputs its children were last drawn from (`syncChildren`) */
const drawnFrom = new WeakMap();

/**
 * Makes `parent`'s children those `build()` returns, only when one of `inputs` (every value they
 * show) is a different value than at the last call: an unchanged section keeps its elements, so a
 * click whose press and release straddle a render still lands on the button it was aimed at.
 */
export function syncChildren(parent, inputs, build) {
  const previous = drawnFrom.get(parent);
  if (previous !== undefined && sameInputs(previous, inputs)) return;
  drawnFrom.set(parent, inputs);
  parent.replaceChildren(...build());
}

/** The table's tbody, made (with `head()` as its thead) the first time. */
export function tableBody(table, head) {
  if (table.tBodies.length === 0) table.replaceChildren(head(), document.createElement('tbody'));
  return table.tBodies[0];
}

function sameInputs(a, b) {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
