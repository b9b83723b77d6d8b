// The dashboard: one State Sync connection (see CORE-004), the apply / cancel buttons, and the
// output of the selected command. It decides nothing: the server's records are shown as they are.
import { keepingFocus } from './dom.js';
import { onHostListShownChange, render, renderNoAccess, renderOutput } from './render.js';
import {
  emptyModel,
  JOURNAL_UNAVAILABLE_CODE,
  PROTOCOL_MISMATCH_CODE,
  PROTOCOL_VERSION,
  receive,
  serverNow,
} from './sync-client.js';
import { plainTerminalText } from './terminal-text.js';

const token = new URLSearchParams(location.search).get('token') ?? '';
const OUTPUT_TAIL_BYTES = 64 * 1024;
const MAX_BACKOFF_MS = 10_000;

let model = emptyModel();
let socket = null;
let attempts = 0;
/** The server said its journal is away (CORE-012); until it is back, that is what the page says. */
let journalAway = false;
const JOURNAL_AWAY = 'journal unavailable';
const ui = { connection: 'connecting', selectedRunId: null, selectedCommandId: null, message: null, hostFilter: '' };

function connect() {
  const url = new URL('/ws', location.href);
  url.protocol = location.protocol === 'https:' ? 'wss:' : 'ws:';
  url.search = `?token=${encodeURIComponent(token)}&protocol=${PROTOCOL_VERSION}`;
  const ws = new WebSocket(url);
  socket = ws;
  // CORE-004: every (re)connection starts from the server's `init`; until then the old state is
  // shown, marked as resyncing.
  model = { ...model, awaitingState: true };
  ws.addEventListener('open', () => {
    attempts = 0;
    journalAway = false;
    setConnection('resyncing');
  });
  ws.addEventListener('message', (event) => {
    // User Timing marks (CORE-004, "The page"): what taking in a message and drawing it cost,
    // visible in the browser's performance panel and read by bench/dashboard.bench.mjs.
    const started = performance.now();
    // CORE-004, the server's clock: when the message arrived, before parsing a large state delays it.
    const receivedAt = Date.now();
    let message;
    try {
      message = JSON.parse(event.data);
    } catch {
      return;
    }
    const result = receive(model, message, receivedAt);
    model = result.model;
    if (result.requestState && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify({ type: 'get_state' }));
    setConnection(model.awaitingState ? 'resyncing' : 'live');
    delete document.body.dataset.access;
    if (message.type === 'deltas') for (const delta of message.changes) followSelectedOutput(delta.change);
    if (message.type === 'init' || message.type === 'full_state') refreshOutput();
    timed('nixfleet:apply', started);
  });
  ws.addEventListener('close', (event) => {
    if (socket !== ws) return;
    socket = null;
    // A server that speaks another protocol: this page is out of date; reconnecting cannot help.
    if (event.code === PROTOCOL_MISMATCH_CODE) return setConnection(event.reason || 'reload the page');
    if (event.code === 1008 || !token) setConnection(token ? 'refused' : 'no token in URL');
    // While the journal is away the server refuses the socket (503, a close like any other): the
    // API says whether that is still why, or whether the server itself is gone now.
    if (event.code === JOURNAL_UNAVAILABLE_CODE) journalAway = true;
    else if (journalAway) checkJournal();
    // The socket refuses a wrong token before it opens; the API says why in so many words.
    if (token && !model.state) checkAccess();
    scheduleReconnect();
  });
}

async function checkJournal() {
  try {
    journalAway = (await api('GET', '/api/state')).status === 503;
  } catch {
    journalAway = false;
  }
  if (socket === null && (ui.connection === JOURNAL_AWAY || ui.connection === 'reconnecting')) {
    setConnection(journalAway ? JOURNAL_AWAY : 'reconnecting');
  }
}

async function checkAccess() {
  try {
    const result = await api('GET', '/api/state');
    if (result.status === 401) {
      setConnection('refused');
      renderNoAccess('The token in this address was refused: it is not the one this server was started with.');
    }
  } catch {
    // The server is down: the reconnect loop shows that.
  }
}

/** Exponential backoff with jitter, so a restarted server is not stampeded. */
function scheduleReconnect() {
  const base = Math.min(MAX_BACKOFF_MS, 250 * 2 ** attempts);
  attempts++;
  if (ui.connection !== 'no token in URL') setConnection(journalAway ? JOURNAL_AWAY : 'reconnecting');
  setTimeout(connect, base / 2 + Math.random() * (base / 2));
}

function setConnection(connection) {
  ui.connection = connection;
  scheduleRender();
}

/** One User Timing entry for observers (a PerformanceObserver); none kept, so none pile up. */
function timed(name, started) {
  performance.measure(name, { start: started, detail: { version: model.version } });
  performance.clearMeasures(name);
}

let renderTimer = null;
function scheduleRender() {
  // A burst of deltas is drawn once, not once per message.
  if (renderTimer !== null) return;
  renderTimer = setTimeout(() => {
    renderTimer = null;
    const started = performance.now();
    // Durations and a pause's countdown against the server's clock, which stamped them (CORE-004).
    const now = serverNow(model, Date.now());
    const shownRunId = keepingFocus(() => render({ model, ui, now }, actions));
    timed('nixfleet:render', started);
    followShownRun(shownRunId);
  }, 30);
}

/**
 * The output panel belongs to the run on screen: when another run is shown (picked in the list,
 * started from here, or a new run taking the place of the default), an old command's output goes.
 */
function followShownRun(runId) {
  if (ui.selectedCommandId === null || !model.state) return;
  const command = model.state?.commands.find((c) => c.id === ui.selectedCommandId);
  if (command && command.runId === runId) return;
  ui.selectedCommandId = null;
  renderOutput('', '');
}

async function api(method, path, body) {
  const response = await fetch(path, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const isJson = (response.headers.get('content-type') ?? '').startsWith('application/json');
  return { ok: response.ok, status: response.status, body: isJson ? await response.json() : await response.text() };
}

function showMessage(kind, text) {
  ui.message = { kind, text };
  scheduleRender();
}

const actions = {
  async apply(target) {
    const on = document.getElementById('selector').value.trim();
    // CORE-009: as `apply --no-rollback`.
    const noRollback = document.getElementById('no-rollback').checked;
    showMessage('info', `starting ${target}…`);
    try {
      const result = await api('POST', '/api/apply', {
        target,
        ...(on ? { on } : {}),
        ...(noRollback ? { rollback: false } : {}),
      });
      if (!result.ok) return showMessage('error', errorText(result));
      ui.selectedRunId = result.body.runId;
      ui.selectedCommandId = null;
      // CORE-008: a canary count capped by the server's plan is said here, as `apply` says it.
      const notice = result.body.notice ? `; ${result.body.notice}` : '';
      showMessage('ok', `started ${result.body.runId} (${target})${notice}`);
    } catch (error) {
      showMessage('error', `could not reach the server: ${error.message}`);
    }
  },
  async retry(runId) {
    showMessage('info', `retrying ${runId}…`);
    try {
      const result = await api('POST', `/api/runs/${encodeURIComponent(runId)}/retry`);
      if (!result.ok) return showMessage('error', errorText(result));
      ui.selectedRunId = result.body.runId;
      showMessage('ok', `started ${result.body.runId} (retry of ${runId})`);
    } catch (error) {
      showMessage('error', `could not reach the server: ${error.message}`);
    }
  },
  async cancel(runId) {
    try {
      const result = await api('POST', `/api/runs/${encodeURIComponent(runId)}/cancel`);
      showMessage(result.ok ? 'ok' : 'error', result.ok ? `cancel requested for ${runId}` : errorText(result));
    } catch (error) {
      showMessage('error', `could not reach the server: ${error.message}`);
    }
  },
  /** CORE-011: kills the run's running commands, or with `hostId` only that host's. */
  async kill(runId, hostId) {
    const what = hostId ? `${hostId} in ${runId}` : runId;
    try {
      const body = hostId ? { kill: true, host: hostId } : { kill: true };
      const result = await api('POST', `/api/runs/${encodeURIComponent(runId)}/cancel`, body);
      showMessage(result.ok ? 'ok' : 'error', result.ok ? `kill requested for ${what}` : errorText(result));
    } catch (error) {
      showMessage('error', `could not reach the server: ${error.message}`);
    }
  },
  selectRun(runId) {
    ui.selectedRunId = runId;
    scheduleRender();
  },
  selectCommand(command) {
    ui.selectedRunId = command.runId;
    ui.selectedCommandId = command.id;
    scheduleRender();
    refreshOutput();
  },
};

function errorText(result) {
  const body = result.body;
  if (body && typeof body === 'object') return [body.error, body.hint].filter(Boolean).join(' — ');
  return `HTTP ${result.status}`;
}

let outputTimer = null;
let outputInFlight = false;
function followSelectedOutput(change) {
  const command = change.command;
  if (!command || command.id !== ui.selectedCommandId) return;
  if (change.type === 'command_progress' && change.tail !== undefined && !outputInFlight) {
    renderOutput(titleOf(command), plainTerminalText(change.tail));
  }
  // The file is the truth; the delta's tail only fills the gap until the next read.
  if (outputTimer !== null) return;
  outputTimer = setTimeout(() => {
    outputTimer = null;
    refreshOutput();
  }, 300);
}

async function refreshOutput() {
  const id = ui.selectedCommandId;
  const command = model.state?.commands.find((c) => c.id === id);
  if (!id || !command) return;
  outputInFlight = true;
  try {
    const result = await api('GET', `/api/commands/${encodeURIComponent(id)}/output?tail=${OUTPUT_TAIL_BYTES}`);
    if (ui.selectedCommandId !== id) return;
    const text = result.ok ? String(result.body) : errorText(result);
    renderOutput(titleOf(command), plainTerminalText(text) || '(no output yet)');
  } catch {
    // The socket's reconnect will bring us back here through init.
  } finally {
    outputInFlight = false;
  }
}

function titleOf(command) {
  const what = command.rollbackOf ? `${command.op} rollback of ${command.rollbackOf}` : command.op;
  return `${command.id} · ${command.hostId} · ${what} · ${command.status}`;
}

// Durations of running commands tick without any message from the server.
setInterval(() => {
  if (model.state?.pipelines.some((p) => p.status === 'RUNNING')) scheduleRender();
}, 1000);

// The host list is drawn only where it shows (host-list.js).
onHostListShownChange(() => scheduleRender());

// The host filter narrows the host table, the grid and the host list (host-filter.js).
document.getElementById('host-filter').addEventListener('input', (event) => {
  ui.hostFilter = event.target.value;
  scheduleRender();
});

if (token) connect();
else {
  setConnection('no token in URL');
  renderNoAccess('This address has no token, so the dashboard cannot show anything.');
}
