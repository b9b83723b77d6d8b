// The run as a GitHub Actions job summary (Markdown appended to $GITHUB_STEP_SUMMARY, see
// CORE-002, CI output): the status line, a table of hosts with their counts and what stopped each,
// and the next step. Hosts that did not complete come first: that is what the reader is after.
// Completed hosts fold as in the recap, so 3,000 of them are a row, not 3,000.

import { stripTerminalCodes } from '../domain/terminal-text.js';
import { hostRecaps, type RecapRow, recapRows, runStatusLine } from './run-recap.js';
import type { RunView } from './run-view.js';

export function jobSummaryMarkdown(view: RunView): string {
  const { completed, stopped } = recapRows(hostRecaps(view));
  const row = ({ label, counts: r, note }: RecapRow, mark: string) =>
    `| ${cell(label)} | ${mark} | ${r.ok} | ${r.failed} | ${r.skipped} | ${cell(note ?? '')} |`;
  const rows = [...stopped.map((entry) => row(entry, '❌')), ...completed.map((entry) => row(entry, '✅'))];
  const next =
    view.status === 'COMPLETE'
      ? `\`nixfleet show ${view.runId}\``
      : `\`nixfleet show ${view.runId}\`, then \`nixfleet retry ${view.runId}\``;
  return [
    `### nixfleet ${cell(view.target)}: ${view.status}`,
    '',
    cell(runStatusLine(view)),
    '',
    '| host | | ok | failed | skipped | reason |',
    '| --- | --- | --: | --: | --: | --- |',
    ...rows,
    '',
    `Next: ${next}`,
    '',
  ].join('\n');
}

/** Table-safe text: one line, pipes escaped, markup characters neutralised. */
function cell(value: string): string {
  return stripTerminalCodes(value)
    .replace(/\s+/g, ' ')
    .replace(/[\\`*_[\]<>|]/g, (c) => `\\${c}`)
    .trim();
}
