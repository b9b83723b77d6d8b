// The Kill buttons (see CORE-011): one for a running run (its running commands are killed, the
// rest is cancelled) and one per host whose command is running (only that command is killed; the
// run goes on without the host). Both go through POST /api/runs/:id/cancel like Cancel does.

const RUNNING = ['VALIDATING', 'EXECUTING'];

/** The run's Kill button, or null when there is nothing to kill. `el` is render.js's builder. */
export function runKillButton(el, run, actions) {
  if (run.status !== 'RUNNING') return null;
  return el(
    'button',
    {
      class: 'kill',
      type: 'button',
      id: 'kill-run',
      title: 'kill the running commands now and cancel the rest',
      disabled: run.killRequested === true,
      onclick: () => actions.kill(run.id),
    },
    'Kill',
  );
}

/** A host's Kill button in the run grid, while that host's command of this run is running. */
export function hostKillButton(el, run, row, actions) {
  if (run.status !== 'RUNNING') return null;
  const running = row.cells.some(({ command }) => command && RUNNING.includes(command.status));
  if (!running) return null;
  const requested = run.killRequested === true || (run.killHosts ?? []).includes(row.hostId);
  return el(
    'button',
    {
      class: 'kill kill-host',
      type: 'button',
      'data-kill-host': row.hostId,
      title: `kill the running command on ${row.hostId}`,
      disabled: requested,
      onclick: (event) => {
        event.stopPropagation();
        actions.kill(run.id, row.hostId);
      },
    },
    'Kill',
  );
}
