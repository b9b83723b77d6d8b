// The run host by host, the narrow-screen form of the grid (see CORE-004).
import { el } from './dom.js';
import { FAILED_COMMAND_STATUSES } from './fleet-view.js';
import { syncRows } from './keyed-rows.js';
import { rollbackChip } from './rollback-chip.js';
import { batchTag } from './rollout-tags.js';
import { hostActions } from './run-actions.js';

const byId = (id) => document.getElementById(id);
/** Where style.css shows the list instead of the grid. */
const NARROW = window.matchMedia('(max-width: 640px)');

/** Calls `redraw` when the page crosses into or out of the list's width. */
export function onHostListShownChange(redraw) {
  NARROW.addEventListener('change', redraw);
}

/**
 * The run host by host, for narrow screens where the grid's columns do not fit (CSS picks which
 * one shows): each host with the stage that stopped it (or runs now) and its reason, then one
 * chip per stage (and its rollback's chip, CORE-009); a rollout's batch beside the host (CORE-008).
 */
export function renderHostList(run, rows, ui, actions, rollout) {
  // Not kept where it is hidden: 3,000 items compared on every delta for nothing.
  if (!NARROW.matches) return byId('host-list').replaceChildren();
  // Kept per host like the grid's rows (keyed-rows.js): rebuilding all of a 3,000-host list on
  // every delta was most of the page's render time, even where the list is not shown.
  const killRequested = run.killRequested === true;
  syncRows(
    byId('host-list'),
    rows.map((row) => {
      const inputs = [rollout?.labels.get(row.hostId) ?? null, run.id, run.status, killRequested];
      inputs.push((run.killHosts ?? []).includes(row.hostId));
      for (const { command, rollback } of row.cells) {
        inputs.push(command, rollback, command !== null && command.id === ui.selectedCommandId);
      }
      return { key: row.hostId, inputs, build: () => hostItem(run, row, ui, actions, rollout) };
    }),
  );
}

function hostItem(run, row, ui, actions, rollout) {
  const commands = row.cells.map((cell) => cell.command).filter(Boolean);
  const failed = commands.find((c) => FAILED_COMMAND_STATUSES.includes(c.status));
  const running = commands.find((c) => c.status === 'EXECUTING' || c.status === 'VALIDATING');
  const headline = failed ?? running ?? commands.at(-1);
  return el(
    'li',
    { 'data-host': row.hostId, 'data-status': headline?.status },
    el(
      'div',
      { class: 'host-line' },
      el('span', { class: 'mono strong' }, row.hostId),
      batchTag(rollout, row.hostId),
      headline ? el('span', { class: 'badge', 'data-status': headline.status }, headline.status) : null,
      headline ? el('span', { class: 'muted mono' }, headline.op) : null,
      ...hostActions(run, row, actions),
    ),
    failed?.error ? el('div', { class: 'cell-reason' }, failed.error) : null,
    el(
      'div',
      { class: 'stage-chips' },
      row.cells.flatMap(({ command, rollback }, i) => [
        command
          ? el(
              'button',
              {
                class: `status-chip${ui.selectedCommandId === command.id ? ' selected' : ''}`,
                type: 'button',
                'data-status': command.status,
                'data-command-id': command.id,
                'data-focus-key': `command:${command.id}`,
                title: `${run.stages[i]}: ${command.status}${command.error ? ` (${command.error})` : ''}`,
                onclick: () => actions.selectCommand(command),
              },
              `${i + 1} ${run.stages[i]}`,
            )
          : el('span', { class: 'status-chip empty' }, `${i + 1} ${run.stages[i]}`),
        rollback ? rollbackChip(rollback, actions) : null,
      ]),
    ),
  );
}
