// The shown run's action buttons (see CORE-004): one entry per action, so more can join here.
// Kill (see CORE-011) is one of them: for the run (its running commands are killed, the rest is
// cancelled) and per host whose command is running (only that command is killed; the run goes on
// without the host). Cancel and Kill both go through POST /api/runs/:id/cancel.
import { el } from './dom.js';

/** A finished run that did not complete can be retried (the rules are the server's). */
const RETRYABLE_RUN_STATUSES = ['PARTIAL', 'FAILED', 'CANCELLED', 'ORPHANED'];
const RUNNING_COMMAND_STATUSES = ['VALIDATING', 'EXECUTING'];

/** What can be done to the shown run: each action one button, in this order (see CORE-004). */
export function runActions(run, actions) {
  const buttons = [];
  if (run.status === 'RUNNING') {
    buttons.push(
      el(
        'button',
        {
          class: 'cancel',
          type: 'button',
          'data-focus-key': 'run-action:cancel',
          disabled: run.cancelRequested,
          onclick: () => actions.cancel(run.id),
        },
        'Cancel',
      ),
      el(
        'button',
        {
          class: 'kill',
          type: 'button',
          id: 'kill-run',
          'data-focus-key': 'run-action:kill',
          title: 'kill the running commands now and cancel the rest',
          disabled: run.killRequested === true,
          onclick: () => actions.kill(run.id),
        },
        'Kill',
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
          'data-focus-key': 'run-action:retry',
          title: 'run again, on each host that did not complete, from the stage where it stopped',
          onclick: () => actions.retry(run.id),
        },
        'Retry',
      ),
    );
  }
  return buttons;
}

/** What can be done to one host of the shown run (the grid's row, the host list's item). */
export function hostActions(run, row, actions) {
  const buttons = [];
  const running = row.cells.some(({ command }) => command && RUNNING_COMMAND_STATUSES.includes(command.status));
  if (run.status === 'RUNNING' && running) {
    const requested = run.killRequested === true || (run.killHosts ?? []).includes(row.hostId);
    buttons.push(
      el(
        'button',
        {
          class: 'kill kill-host',
          type: 'button',
          'data-kill-host': row.hostId,
          'data-focus-key': `kill:${row.hostId}`,
          title: `kill the running command on ${row.hostId}`,
          disabled: requested,
          onclick: (event) => {
            event.stopPropagation();
            actions.kill(run.id, row.hostId);
          },
        },
        'Kill',
      ),
    );
  }
  return buttons;
}
