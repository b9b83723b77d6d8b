// Plain aligned columns for human output (`list`, `runs`, `show`); machine output goes through
// --json. A cell's control characters are shown as `\xNN`, never sent to the terminal as they are.

import { visibleControls } from '../domain/terminal-text.js';

export function textTable(header: readonly string[], cells: readonly (readonly string[])[]): string {
  const rows = cells.map((row) => row.map(visibleControls));
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, column) => (column === cells.length - 1 ? cell : cell.padEnd(widths[column] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}
