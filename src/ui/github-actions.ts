// GitHub Actions workflow commands (`::group::`, `::error`), escaped the way the runner reads
// them: data escapes `%`, CR and LF; property values also `:` and `,` (see CORE-002, CI output).
// Command output never reaches these: it is printed behind a `[host]` prefix, so a line of it can
// never start with `::` and be taken for a command. Annotations are made one line and cleaned of
// control characters first.
import { oneLine } from '../domain/terminal-text.js';

export function groupStart(title: string): string {
  return `::group::${escapeData(title)}`;
}

export function groupEnd(): string {
  return '::endgroup::';
}

export function annotationError(message: string, title: string): string {
  return `::error title=${escapeProperty(oneLine(title))}::${escapeData(oneLine(message))}`;
}

function escapeData(value: string): string {
  return value.replace(/%/g, '%25').replace(/\r/g, '%0D').replace(/\n/g, '%0A');
}

function escapeProperty(value: string): string {
  return escapeData(value).replace(/:/g, '%3A').replace(/,/g, '%2C');
}
