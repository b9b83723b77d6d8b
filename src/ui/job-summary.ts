// The run as a GitHub Actions job summary (Markdown appended to $GITHUB_STEP_SUMMARY, see
// CORE-002, CI output): the status line, a table of hosts with their counts and what stopped each,
// and the next step. Hosts that did not complete come first: that is what the reader is after.
// Hosts fold as in the recap, so 3,000 of them are a few rows, not 3,000.

import { type GlobalFlags, nixfleetCommand } from '../domain/nixfleet-command.js';
import { stripTerminalCodes } from '../domain/terminal-text.js';
import { hostRecaps, type RecapRow, recapRows, retryStep, runStatusLine } from './run-recap.js';
import type { RunView } from './run-view.js';

export function jobSummaryMarkdown(view: RunView, flags: GlobalFlags = {}): string {
  const recaps = hostRecaps(view);
  const { completed, stopped } = recapRows(recaps);
  // As in the recap: a cancelled column only for a run that has cancelled commands.
  const withCancelled = recaps.some((r) => r.cancelled > 0);
  const row = ({ label, counts: r, note }: RecapRow, mark: string) =>
    `| ${cell(label)} | ${mark} | ${r.ok} | ${r.failed} | ${r.skipped} |${withCancelled ? ` ${r.cancelled} |` : ''} ${cell(note ?? '')} |`;
  const rows = [...stopped.map((entry) => row(entry, '❌')), ...completed.map((entry) => row(entry, '✅'))];
  const show = codeSpan(nixfleetCommand(`show ${view.runId}`, flags));
  const retry = retryStep(view, flags);
  const next =
    view.status === 'COMPLETE'
      ? show
      : `${show}, then ${codeSpan(retry.command)}${retry.unsafe.length > 0 ? ` (${cell(retry.unsafe.join(', '))} ${retry.unsafe.length === 1 ? 'is' : 'are'} not marked retryable)` : ''}`;
  return [
    `### nixfleet ${cell(view.target)}: ${view.status}`,
    '',
    cell(runStatusLine(view)),
    '',
    `| host | | ok | failed | skipped |${withCancelled ? ' cancelled |' : ''} reason |`,
    `| --- | --- | --: | --: | --: |${withCancelled ? ' --: |' : ''} --- |`,
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

/**
 * A Markdown code span of `text`, which may hold backticks (a path given to -f): the fence is one
 * backtick longer than the longest run inside, and padded with a space where the text begins or
 * ends with one (CommonMark, code spans).
 */
function codeSpan(text: string): string {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = text.startsWith('`') || text.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${text}${pad}${fence}`;
}
