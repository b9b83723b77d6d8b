// The one way the page makes DOM nodes: data only ever becomes textContent or attribute values,
// never HTML (see CORE-004).

/**
 * Runs `draw` (a render) and keeps the keyboard focus where it was: a render rebuilds the rows and
 * buttons whose data changed, and a removed element takes the focus with it. Every element the
 * user can focus carries `data-focus-key`; when the focused one was rebuilt, the new one with the
 * same key (the first that is shown) takes the focus back (see CORE-004, "Keyboard").
 */
export function keepingFocus(draw) {
  const key = document.activeElement?.dataset?.focusKey;
  const result = draw();
  const now = document.activeElement;
  if (key === undefined || (now !== null && now !== document.body)) return result;
  const same = document.querySelectorAll(`[data-focus-key="${CSS.escape(key)}"]`);
  [...same].find((node) => node.offsetParent !== null)?.focus({ preventScroll: true });
  return result;
}

/** `el('td', {class: 'x', 'data-status': s}, 'text', child)` */
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on') && typeof value === 'function') node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}
