// The run's progress bar in its header (see CORE-004).
import { el } from './dom.js';

/** One segment per command of the run, coloured by status: the run's shape at a glance. */
export function progressBar(rows) {
  const order = [
    'SUCCESS',
    'ERROR',
    'TIMEOUT',
    'BLOCKED',
    'ORPHANED',
    'CANCELLED',
    'SKIPPED',
    'EXECUTING',
    'VALIDATING',
    'PENDING',
  ];
  // One pass: a run of 3,000 hosts has 6,000 commands to count on every render.
  const tally = new Map();
  let total = 0;
  for (const row of rows) {
    for (const { command } of row.cells) {
      if (command === null) continue;
      total++;
      tally.set(command.status, (tally.get(command.status) ?? 0) + 1);
    }
  }
  const counts = order.map((status) => [status, tally.get(status) ?? 0]).filter(([, n]) => n > 0);
  const unfinished = ['PENDING', 'VALIDATING', 'EXECUTING'].reduce((sum, status) => sum + (tally.get(status) ?? 0), 0);
  const finished = total - unfinished;
  return el(
    'div',
    { class: 'progress', title: counts.map(([status, n]) => `${n} ${status}`).join(', ') },
    el(
      'div',
      { class: 'progress-bar' },
      counts.map(([status, n]) => {
        const segment = el('span', { 'data-status': status });
        // Through the CSSOM: the CSP forbids style attributes, not style properties.
        segment.style.flexGrow = String(n);
        return segment;
      }),
    ),
    el('span', { class: 'progress-text mono muted' }, `${finished}/${total}`),
  );
}
