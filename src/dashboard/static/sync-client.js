// The dashboard's half of State Sync (see CORE-004), with no DOM and no socket:
// the page and the tests feed it server messages and act on what it returns.
//
//   receive(model, message, receivedAt) -> { model, requestState }
//
// Protocol 2 (the page asks for it in the /ws URL): the changes of one read of the journal arrive
// together in one `deltas` message, each with its version, and are applied in order.
// `requestState` true means: send {"type":"get_state"} now. It is true on a version gap and on a
// beacon that differs from the model's version. `init` and `full_state` are always taken as they
// are, even when older than what the model had (the server may have restarted on an older
// database): the server is the only truth.
//
// The server's clock too (CORE-004, the server's clock): `init`, `full_state` and the beacon carry
// the server's `now`, and `receivedAt` is the browser's Date.now() as the message arrived. The
// model keeps `clockOffset = now - receivedAt`, what to add to the browser's clock to read the
// server's (`serverNow`), so times taken on the controller (a command's start, a pause's end) are
// compared with the controller's clock, whatever the browser's says.

/** How much history the page keeps beyond the active work (the server sends as much). */
export const KEEP = { pipelines: 50, events: 100 };

/** The State Sync protocol this page speaks; `?protocol=` of the /ws URL (CORE-004). */
export const PROTOCOL_VERSION = 2;
/** The close code of a server that speaks another protocol: the page itself is out of date. */
export const PROTOCOL_MISMATCH_CODE = 4000;
/** The close code of a server whose journal is unreachable (its database server is away): come back later. */
export const JOURNAL_UNAVAILABLE_CODE = 1013;

/**
 * @returns {{version: number|null, state: object|null, tails: Record<string,string>, awaitingState: boolean,
 *   clockOffset: number}}
 */
export function emptyModel() {
  return { version: null, state: null, tails: {}, awaitingState: true, clockOffset: 0 };
}

/** The server's clock now, read from the browser's (`browserNow`, its Date.now()) and the model's offset. */
export function serverNow(model, browserNow) {
  return browserNow + (model.clockOffset ?? 0);
}

export function receive(model, message, receivedAt) {
  switch (message?.type) {
    case 'init':
    case 'full_state':
      return {
        model: {
          version: message.version,
          state: normalizeState(message.state),
          tails: {},
          awaitingState: false,
          clockOffset: clockOffsetOf(model, message, receivedAt),
        },
        requestState: false,
      };
    case 'deltas':
      return receiveDeltas(model, message.changes ?? []);
    case 'sync': {
      const clocked = withClock(model, message, receivedAt);
      // A beacon that disagrees always asks again, even while a request is out: that request's
      // answer may be what got lost.
      if (model.state === null) return { model: clocked, requestState: false };
      if (message.version === model.version) return { model: clocked, requestState: false };
      return { model: { ...clocked, awaitingState: true }, requestState: true };
    }
    default:
      return { model, requestState: false };
  }
}

/**
 * The offset a message with the server's `now` gives, measured when it arrived; the model's own
 * when the message has none (a server from before the field) or the arrival time is unknown.
 * The newest reading wins: it was taken in transit like any other, and follows a browser clock
 * that was set in the meantime.
 */
function clockOffsetOf(model, message, receivedAt) {
  if (!Number.isFinite(message.now) || !Number.isFinite(receivedAt)) return model.clockOffset ?? 0;
  return message.now - receivedAt;
}

function withClock(model, message, receivedAt) {
  const clockOffset = clockOffsetOf(model, message, receivedAt);
  return clockOffset === model.clockOffset ? model : { ...model, clockOffset };
}

/** Each change in order, as if it had arrived on its own; a gap stops the batch and asks. */
function receiveDeltas(model, changes) {
  if (model.state === null) return { model, requestState: false };
  let { version, state, tails, awaitingState } = model;
  const { clockOffset } = model;
  for (const delta of changes) {
    // Already included in the state we hold (it was newer than the delta stream).
    if (delta.version <= version) continue;
    if (delta.version !== version + 1) {
      return { model: { version, state, tails, awaitingState: true, clockOffset }, requestState: !awaitingState };
    }
    const next = applyChange(state, tails, delta.change);
    version = delta.version;
    state = next.state;
    tails = next.tails;
    awaitingState = false;
  }
  if (version === model.version) return { model, requestState: false };
  return { model: { version, state, tails, awaitingState, clockOffset }, requestState: false };
}

export function normalizeState(state) {
  return {
    hosts: [...(state?.hosts ?? [])],
    commands: [...(state?.commands ?? [])],
    pipelines: [...(state?.pipelines ?? [])],
    events: [...(state?.events ?? [])],
    registry: state?.registry ?? null,
  };
}

/** One change applied to a state; pure. Every change carries whole records, so it is idempotent. */
export function applyChange(state, tails, change) {
  switch (change.type) {
    case 'host_added':
    case 'host_updated':
      return { state: { ...state, hosts: upsert(state.hosts, change.host, false) }, tails };
    case 'host_removed':
      return { state: { ...state, hosts: state.hosts.filter((h) => h.id !== change.hostId) }, tails };
    case 'command_started':
    case 'command_finished':
      return { state: { ...state, commands: upsert(state.commands, change.command, false) }, tails };
    case 'command_progress': {
      const next = { ...state, commands: upsert(state.commands, change.command, false) };
      return { state: next, tails: change.tail === undefined ? tails : { ...tails, [change.command.id]: change.tail } };
    }
    case 'pipeline_started': {
      let commands = state.commands;
      for (const command of change.commands) commands = upsert(commands, command, false);
      return { state: trim({ ...state, pipelines: upsert(state.pipelines, change.pipeline, true), commands }), tails };
    }
    case 'pipeline_updated':
    case 'pipeline_finished':
      return { state: { ...state, pipelines: upsert(state.pipelines, change.pipeline, true) }, tails };
    case 'pipelines_removed': {
      // Retention deleted these runs and their commands.
      const removed = new Set(change.runIds);
      const commands = state.commands.filter((c) => !removed.has(c.runId));
      const kept = new Set(commands.map((c) => c.id));
      const pipelines = state.pipelines.filter((p) => !removed.has(p.id));
      return {
        state: { ...state, pipelines, commands },
        tails: Object.fromEntries(Object.entries(tails).filter(([id]) => kept.has(id))),
      };
    }
    case 'event': {
      if (state.events.some((e) => e.id === change.event.id)) return { state, tails };
      return { state: { ...state, events: [change.event, ...state.events].slice(0, KEEP.events) }, tails };
    }
    case 'registry_reloaded':
      return { state: { ...state, registry: change.registry }, tails };
    default:
      return { state, tails };
  }
}

/** Replaces the record with the same id in place, or adds it (first when `newFirst`). */
function upsert(list, record, newFirst) {
  const index = list.findIndex((item) => item.id === record.id);
  if (index === -1) return newFirst ? [record, ...list] : [...list, record];
  const copy = list.slice();
  copy[index] = record;
  return copy;
}

/** Keeps every active run and the newest finished ones, and only the commands of kept runs. */
function trim(state) {
  if (state.pipelines.length <= KEEP.pipelines) return state;
  const kept = state.pipelines.filter((p, i) => i < KEEP.pipelines || p.status === 'RUNNING');
  const keptIds = new Set(kept.map((p) => p.id));
  return { ...state, pipelines: kept, commands: state.commands.filter((c) => keptIds.has(c.runId)) };
}
