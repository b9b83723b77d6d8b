// Where a YAML text nests its collections too deeply (see CORE-005, errors). The yaml package
// parses and composes nested collections by recursion, so a file of 100,000 `[` runs it out of
// stack, at a depth that depends on how much stack is left: the error came out as `Maximum call
// stack size exceeded` at a different column from one run to the next. This scan does not
// recurse (the package's lexer reads tokens in a loop) and finds a fixed place instead: where the
// nesting first passes MAX_NESTING levels. It runs only once the parse ran out of stack, so a
// fleet file that reads pays nothing for it.
import { CST, Lexer } from 'yaml';

/** No fleet file nests anywhere near this (hosts > a host > vars is 3), and every parse reaches it. */
export const MAX_NESTING = 100;

// The lexer's markers: not source text, so they take no room in it.
const MARKERS = new Set(['\u0002', '\u0018', '\u001f']);

/**
 * The offset in `text` of the token that opens its collection level number `limit + 1`, or
 * undefined when it never gets that deep. Flow collections (`[`, `{`) count exactly; block ones
 * count by indentation and by each `- ` or `? ` that opens one more on a line (`- - - x`). A
 * mapping written on a sequence item's line (`- a: 1`) counts once the next line shows it.
 */
export function tooDeepOffset(text: string, limit = MAX_NESTING): number | undefined {
  let offset = 0;
  let lineStart = 0;
  let atLineStart = true;
  let flow = 0;
  // Indentation of each block collection open.
  const block: number[] = [];
  for (const token of new Lexer().lex(text)) {
    if (MARKERS.has(token)) continue;
    const at = offset;
    offset += token.length;
    const type = CST.tokenType(token);
    if (type === 'newline') {
      lineStart = offset;
      atLineStart = true;
      continue;
    }
    if (type === 'space' || type === 'comment' || type === 'byte-order-mark') continue;
    if (type === 'doc-start' || type === 'doc-end' || type === 'directive-line') {
      block.length = 0;
      flow = 0;
    } else if (type === 'flow-map-end' || type === 'flow-seq-end') {
      flow = Math.max(0, flow - 1);
    } else if (flow === 0) {
      const column = at - lineStart;
      if (atLineStart) {
        while (block.length > 0 && block[block.length - 1]! > column) block.pop();
        if (block.length === 0 || block[block.length - 1]! < column) block.push(column);
      } else if ((type === 'seq-item-ind' || type === 'explicit-key-ind') && block[block.length - 1]! < column) {
        block.push(column);
      }
    }
    if (type === 'flow-map-start' || type === 'flow-seq-start') flow++;
    if (flow + block.length > limit) return at;
    atLineStart = false;
    // A scalar over several lines: what follows is on its last line.
    const newline = token.lastIndexOf('\n');
    if (newline >= 0) lineStart = at + newline + 1;
  }
  return undefined;
}
