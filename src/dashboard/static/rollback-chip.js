// A rollback (see CORE-009) rides on its op's cell as a chip, never taking the cell itself.
import { el } from './dom.js';

/** CORE-009: the rollback that ran where this op failed; a click shows its output. */
export function rollbackChip(rollback, actions) {
  return el(
    'button',
    {
      class: 'status-chip rollback-chip',
      type: 'button',
      'data-status': rollback.status,
      'data-command-id': rollback.id,
      'data-focus-key': `command:${rollback.id}`,
      title: `rollback ${rollback.id} ${rollback.status}${rollback.error ? `: ${rollback.error}` : ''}`,
      onclick: (event) => {
        event.stopPropagation();
        actions.selectCommand(rollback);
      },
    },
    `↺ ${rollback.status}`,
  );
}
