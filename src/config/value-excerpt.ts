// How a value from the fleet file is quoted in an error (see CORE-005, errors): a short excerpt
// on one line. A whole included binary, `/etc/passwd` or a 2 MB scalar would otherwise be echoed
// into the terminal, and control characters would garble it.

/** Characters of the value shown before it is cut. */
export const EXCERPT_LENGTH = 40;

export function quoteExcerpt(value: string): string {
  const chars = [...value];
  const shown = chars
    .slice(0, EXCERPT_LENGTH)
    .join('')
    .replace(/[\u0000-\u001f\u007f]/g, escapeControl);
  if (chars.length <= EXCERPT_LENGTH) return `\`${shown}\``;
  return `\`${shown}...\` (${chars.length} characters)`;
}

function escapeControl(char: string): string {
  if (char === '\n') return '\\n';
  if (char === '\t') return '\\t';
  if (char === '\r') return '\\r';
  return `\\x${char.charCodeAt(0).toString(16).padStart(2, '0')}`;
}
