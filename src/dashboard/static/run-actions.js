// The shown run's action buttons (see CORE-004): one entry per action, so more can join here.
import { el } from './dom.js';

/** A finished run that did not complete can be retried (the rules are the server's). */
const RETRYABLE_RUN_STATUSES = ['PARTIAL', 'FAILED', 'CANCELLED', 'ORPHANED'];

/** What can be done to the shown run: each action one button, in this order (see CORE-004). */
export function runActions(run, actions) {
  const buttons = [];
  if (run.status === 'RUNNING') {
    buttons.push(
      el(
        'button',
        { class: 'cancel', type: 'button', disabled: run.cancelRequested, onclick: () => actions.cancel(run.id) },
        'Cancel',
      ),
    );
  }
  if (RETRYABLE_RUN_STATUSES.includes(run.status)) {
    buttons.push(
      el(
        'button',
        {
          class: 'retry',
          type: 'button',
          title: 'run again, on each host that did not complete, from the stage where it stopped',
          onclick: () => actions.retry(run.id),
        },
        'Retry',
      ),
    );
  }
  return buttons;
}
