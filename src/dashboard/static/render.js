// Draws the synced state into the page. Data only ever reaches the DOM as textContent or
// attribute values, never as HTML (see CORE-004).
import { el } from './dom.js';
import {
  createFleetView,
  defaultRunId,
  durationMs,
  FAILED_COMMAND_STATUSES,
  formatClock,
  formatDuration,
  waveName,
} from './fleet-view.js';
import { hostMatcher } from './host-filter.js';
import { renderHostList } from './host-list.js';
import { syncChildren, syncRows, tableBody } from './keyed-rows.js';
import { progressBar } from './progress-bar.js';
import { rollbackChip } from './rollback-chip.js';
import { batchTag, rolloutTags } from './rollout-tags.js';
import { hostActions, runActions } from './run-actions.js';
import { syncWindow } from './windowed-rows.js';

export { el } from './dom.js';
export { onHostListShownChange } from './host-list.js';
export { renderNoAccess } from './no-access.js';

const byId = (id) => document.getElementById(id);
/** The hosts' statuses and the run's grid, kept between renders: a delta derives only the hosts it touched. */
const fleetView = createFleetView();
const badge = (status) =>
  status ? el('span', { class: 'badge', 'data-status': status }, status) : el('span', { class: 'muted' }, '·');

export function render(view, actions) {
  const { model, ui, now } = view;
  const state = model.state;
  renderConnection(ui.connection, model);
  if (!state) return;
  const runId =
    ui.selectedRunId && state.pipelines.some((p) => p.id === ui.selectedRunId) ? ui.selectedRunId : defaultRunId(state);
  renderRegistry(state.registry);
  renderPipelines(state, ui, actions);
  const matches = hostMatcher(state.hosts, ui.hostFilter);
  renderHosts(state, matches, actions);
  renderRun(state, runId, ui, now, actions, matches);
  renderRuns(state, runId, now, actions);
  renderEvents(state.events);
  tickDurations(now);
  return runId;
}

/**
 * How long a command or run took, or has taken so far. An unfinished one's text is a span that
 * `tickDurations` moves on in place at every render, so that its row, and the buttons in it, is not
 * rebuilt every second (or every render, below ten seconds) just to show the next figure: a button
 * rebuilt between the press and the release of a click never gets the click.
 */
function tookText(startedAt, finishedAt, now) {
  const text = formatDuration(durationMs(startedAt, finishedAt, now));
  const ticking = (startedAt ?? null) !== null && (finishedAt ?? null) === null;
  return ticking ? el('span', { 'data-since': startedAt }, text) : text;
}

function tickDurations(now) {
  for (const node of document.querySelectorAll('[data-since]')) {
    const text = formatDuration(durationMs(Number(node.dataset.since), null, now));
    if (node.textContent !== text) node.textContent = text;
  }
}

function renderConnection(connection, model) {
  const box = byId('connection');
  box.dataset.state = connection;
  byId('connection-text').textContent = connection;
  byId('version').textContent = model.version === null ? '' : `v${model.version}`;
}

function renderRegistry(registry) {
  syncChildren(byId('registry-info'), [registry], () =>
    registry
      ? [
          el('span', { class: 'file', title: registry.file }, registry.file.split('/').slice(-2).join('/')),
          el('span', { class: 'hash', title: registry.hash }, registry.hash.slice(0, 10)),
        ]
      : [el('span', { class: 'muted' }, 'no registry loaded')],
  );
}

function renderPipelines(state, ui, actions) {
  // Kept until the registry changes: an Apply button is never swapped under a click.
  syncChildren(byId('pipelines'), [state.registry], () => pipelineItems(state.registry, actions));
  const message = byId('message');
  message.textContent = ui.message?.text ?? '';
  message.dataset.kind = ui.message?.kind ?? '';
}

function pipelineItems(registry, actions) {
  const pipelines = registry?.pipelines ?? [];
  const ops = registry?.ops ?? [];
  const items = pipelines.map((p) =>
    el(
      'li',
      { 'data-pipeline': p.id },
      el(
        'div',
        { class: 'pipeline-line' },
        el('span', { class: 'name' }, p.id),
        p.id === registry?.defaultPipeline ? el('span', { class: 'tag' }, 'default') : null,
        el(
          'button',
          { class: 'apply', type: 'button', 'data-focus-key': `apply:${p.id}`, onclick: () => actions.apply(p.id) },
          'Apply',
        ),
      ),
      el('div', { class: 'stages' }, p.ops.join(' → ')),
      p.description ? el('div', { class: 'muted small' }, p.description) : null,
    ),
  );
  if (pipelines.length === 0 && ops.length === 0) items.push(el('li', { class: 'muted' }, 'no pipelines'));
  return items;
}

function renderHosts(state, matches, actions) {
  const shown = fleetView.hostStatuses(state).filter(({ host }) => matches(host.id));
  const count = shown.length === state.hosts.length ? '' : `${shown.length}/`;
  byId('hosts-count').textContent = `${count}${state.hosts.length}`;
  const table = byId('hosts');
  tableBody(table, () =>
    el('thead', {}, el('tr', {}, el('th', {}, 'host'), el('th', {}, 'now'), el('th', {}, 'last'))),
  );
  // Redrawn per row, only where the host or one of its two commands is a different record; only
  // the rows in view (windowed-rows.js).
  syncWindow(byId('hosts-wrap'), table, shown, ({ host, current, last }) => ({
    key: host.id,
    inputs: [host, current, last],
    build: () =>
      el(
        'tr',
        { 'data-host': host.id },
        el('td', { class: 'mono', title: `${host.transport} · ${host.tags.join(', ') || 'no tags'}` }, host.id),
        el(
          'td',
          {},
          current ? cellButton(current, `host:${host.id}:now`, actions) : el('span', { class: 'muted' }, 'idle'),
        ),
        el('td', {}, last ? cellButton(last, `host:${host.id}:last`, actions) : el('span', { class: 'muted' }, '·')),
      ),
  }));
}

function cellButton(command, focusKey, actions) {
  const label = `${command.status} ${command.rollbackOf ? '↺ ' : ''}${command.op}`;
  return el(
    'button',
    {
      class: 'status-chip',
      type: 'button',
      'data-status': command.status,
      'data-focus-key': focusKey,
      title: `${command.id} ${command.status}`,
      onclick: () => actions.selectCommand(command),
    },
    label,
  );
}

/** The wave a running rollout is in, as `runs` names it (`canary, `, `batch 2/4, `), or ''. */
function waveLabel({ rollout, currentBatch }) {
  if (!rollout || currentBatch === null || currentBatch === undefined) return '';
  const inWaves = currentBatch === 0 || rollout.batches > 1 || rollout.canary.length > 0;
  return inWaves ? `${waveName(currentBatch, rollout.batches)}, ` : '';
}

/** A rollout waiting between waves, as the journal has it (CORE-008): `paused before batch 2/3 (12s left)`. */
function pauseLabel({ pause, rollout }, now) {
  const next = waveName(pause.nextBatch, rollout?.batches ?? 1);
  return `paused before ${next} (${formatDuration(Math.max(0, pause.until - now))} left)`;
}

function renderRun(state, runId, ui, now, actions, matches) {
  const head = byId('run-head');
  const grid = byId('grid');
  const data = runId ? fleetView.runGrid(state, runId) : null;
  if (!data) {
    syncRows(head, [
      { key: 'title', inputs: [], build: () => el('h2', {}, 'Run') },
      { key: 'nothing', inputs: [], build: () => el('span', { class: 'muted' }, 'nothing has run yet') },
    ]);
    byId('host-list').replaceChildren();
    grid.style.margin = '';
    return grid.replaceChildren();
  }
  const { run, rows, rollout } = data;
  const stageText =
    run.status !== 'RUNNING'
      ? `${run.stages.length} stage(s)`
      : run.pause
        ? pauseLabel(run, now)
        : `${waveLabel(run)}stage ${run.currentStage + 1}/${run.stages.length}`;
  const part = (key, inputs, build) => ({ key, inputs, build });
  // Each part redrawn only when what it shows changed; the action buttons only when the run's
  // record did, so a Cancel or Kill is never swapped under a click by a delta or the ticking clock.
  syncRows(head, [
    part('title', [], () => el('h2', {}, 'Run')),
    part('id', [run.id], () => el('span', { class: 'mono strong', id: 'run-id' }, run.id)),
    part('name', [run.name], () => el('span', { class: 'strong' }, run.name)),
    part('status', [run.id, run.status], () =>
      el('span', { id: 'run-status', 'data-run-id': run.id, 'data-status': run.status, class: 'badge' }, run.status),
    ),
    part('stage', [stageText], () => el('span', { class: 'muted' }, stageText)),
    part('took', [run.createdAt, run.finishedAt], () =>
      el('span', { class: 'muted' }, tookText(run.createdAt, run.finishedAt, now)),
    ),
    ...(run.cancelRequested && run.status === 'RUNNING'
      ? [part('cancel-requested', [], () => el('span', { class: 'tag warn' }, 'cancel requested'))]
      : []),
    part('rollout', [rollout], () => el('span', { class: 'run-parts' }, ...rolloutTags(rollout))),
    part('spacer', [], () => el('span', { class: 'spacer' })),
    part('actions', [run], () => el('span', { class: 'run-parts' }, ...runActions(run, actions))),
    part('progress', [rows], () => progressBar(rows)),
  ]);
  tableBody(grid, () => el('thead'));
  // Replaced only when it reads differently: a new header makes the browser lay out the table's
  // columns again.
  const current = run.status === 'RUNNING' ? run.currentStage : -1;
  const headKey = JSON.stringify([run.stages, current]);
  if (grid.tHead.dataset.key !== headKey) {
    const header = el(
      'tr',
      {},
      el('th', { class: 'corner' }, 'host'),
      run.stages.map((op, i) =>
        el('th', { class: i === current ? 'current' : '' }, el('span', { class: 'stage-no' }, String(i + 1)), op),
      ),
    );
    grid.tHead.replaceWith(el('thead', { 'data-key': headKey }, header));
  }
  const shown = rows.filter((row) => matches(row.hostId));
  // Every grid row has one height (windowed-rows.js): taller for a run where a cell shows a
  // failure's reason or a rollback's chip.
  const tall = rows.some((row) => row.cells.some((cell) => cell.rollback || showsReason(cell.command)));
  const shape = tall ? 'tall' : 'short';
  if (grid.dataset.rows !== shape) grid.dataset.rows = shape;
  // Redrawn per host row, only where something the row shows changed: a command or rollback
  // record, the batch label, the selection, or what the host's Kill button depends on
  // (run-actions.js); only the rows in view. An unfinished command's duration counts on in place
  // (`tickDurations`).
  syncWindow(
    byId('grid-wrap'),
    grid,
    shown,
    (row) => {
      const inputs = [rollout?.labels.get(row.hostId) ?? null, run.id, run.status, run.killRequested === true];
      inputs.push((run.killHosts ?? []).includes(row.hostId));
      for (const { command, rollback } of row.cells) {
        inputs.push(command, rollback, command !== null && command.id === ui.selectedCommandId);
      }
      return {
        key: row.hostId,
        inputs,
        build: () =>
          el(
            'tr',
            { 'data-host': row.hostId },
            el('th', { class: 'mono' }, row.hostId, batchTag(rollout, row.hostId), ...hostActions(run, row, actions)),
            row.cells.map(({ command, rollback }) => gridCell(command, ui, now, actions, rollback)),
          ),
      };
    },
    shape,
  );
  renderHostList(run, shown, ui, actions, rollout);
}

/** A failed cell shows its reason (see CORE-004). */
function showsReason(command) {
  return command !== null && FAILED_COMMAND_STATUSES.includes(command.status) && Boolean(command.error);
}

function gridCell(command, ui, now, actions, rollback) {
  if (!command) return el('td', { class: 'cell empty' }, '');
  const detail = [
    command.exitCode !== null ? `exit ${command.exitCode}` : null,
    command.attempt > 1 ? `try ${command.attempt}` : null,
    command.armed ? `armed ${command.armed.state}` : null,
  ].filter(Boolean);
  const duration = tookText(command.startedAt, command.finishedAt, now);
  return el(
    'td',
    {
      class: `cell${ui.selectedCommandId === command.id ? ' selected' : ''}`,
      'data-status': command.status,
      'data-command-id': command.id,
      title: command.error ?? command.id,
      onclick: () => actions.selectCommand(command),
    },
    // The status is the cell's button: keyboard users reach it with Tab, and its click (Enter,
    // Space) reaches the cell's handler.
    el(
      'button',
      {
        class: 'cell-status',
        type: 'button',
        'data-focus-key': `command:${command.id}`,
        'aria-label': `${command.hostId} ${command.op}: ${command.status}`,
        'aria-pressed': ui.selectedCommandId === command.id ? 'true' : 'false',
      },
      command.status,
    ),
    el('div', { class: 'cell-detail' }, detail.join(' · '), detail.length > 0 && duration ? ' · ' : null, duration),
    // A failure says why right in the grid; the title keeps the whole text.
    showsReason(command) ? el('div', { class: 'cell-reason' }, command.error) : null,
    rollback ? rollbackChip(rollback, actions) : null,
  );
}

function renderRuns(state, selectedRunId, now, actions) {
  const body = tableBody(byId('runs'), () =>
    el(
      'thead',
      {},
      el(
        'tr',
        {},
        ['run', 'target', 'status', 'hosts', 'started', 'took'].map((h) => el('th', {}, h)),
      ),
    ),
  );
  const runs = state.pipelines.slice(0, 25);
  // Per run, redrawn only when its record or its selection changed; a running run's duration
  // counts on in place (`tickDurations`).
  const items = runs.map((run) => {
    const selected = run.id === selectedRunId;
    return {
      key: run.id,
      inputs: [run, selected],
      build: () =>
        el(
          'tr',
          { class: selected ? 'selected' : '', 'data-run-id': run.id, onclick: () => actions.selectRun(run.id) },
          // The run's id is its button; its click reaches the row's handler.
          el(
            'td',
            { class: 'mono' },
            el('button', { class: 'run-pick', type: 'button', 'data-focus-key': `run:${run.id}` }, run.id),
          ),
          el('td', {}, run.name),
          el('td', {}, badge(run.status)),
          el('td', { class: 'muted' }, String(run.hosts.length)),
          el('td', { class: 'muted mono' }, formatClock(run.createdAt)),
          el('td', { class: 'muted mono' }, tookText(run.createdAt, run.finishedAt, now)),
        ),
    };
  });
  const none = {
    key: '',
    inputs: [],
    build: () => el('tr', {}, el('td', { class: 'muted', colspan: 6 }, 'no runs yet')),
  };
  syncRows(body, items.length > 0 ? items : [none]);
}

function renderEvents(events) {
  // Rebuilt only when an event arrived.
  syncChildren(byId('events'), [events], () => {
    const rows = events
      .slice(0, 100)
      .map((event) =>
        el(
          'tr',
          { 'data-level': event.level },
          el('td', { class: 'muted mono' }, formatClock(event.timestamp)),
          el('td', {}, el('span', { class: 'level', 'data-level': event.level }, event.level)),
          el('td', { class: 'muted' }, event.category),
          el('td', { class: 'mono' }, event.hostId ?? ''),
          el('td', { class: 'message-cell' }, event.message),
        ),
      );
    return [el('tbody', {}, rows.length ? rows : el('tr', {}, el('td', { class: 'muted' }, 'no events')))];
  });
}

export function renderOutput(title, text) {
  byId('output-title').textContent = title;
  const pre = byId('output');
  const atBottom = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
  pre.textContent = text;
  if (atBottom) pre.scrollTop = pre.scrollHeight;
}
