// The dashboard's half of State Sync (see CORE-004), with no DOM and no socket:
// the page and the tests feed it server messages and act on what it returns.
//
//   receive(model, message) -> { model, requestState }
//
// Protocol 2 (the page asks for it in the /ws URL): the changes of one read of the journal arrive
// together in one `deltas` message, each with its version, and are applied in order.
// `requestState` true means: send {"type":"get_state"} now. It is true on a version gap and on a
// beacon that differs from the model's version. `init` and `full_state` are always taken as they
// are, even when older than what the model had (the server may have restarted on an older
// database): the server is the only truth.

/** How much history the page keeps beyond the active work (the server sends as much). */
export const KEEP = { pipelines: 50, events: 100 };

/** The State Sync protocol this page speaks; `?protocol=` of the /ws URL (CORE-004). */
export const PROTOCOL_VERSION = 2;
/** The close code of a server that speaks another protocol: the page itself is out of date. */
export const PROTOCOL_MISMATCH_CODE = 4000;
/** The close code of a server whose journal is unreachable (its database server is away): come back later. */
export const JOURNAL_UNAVAILABLE_CODE = 1013;

/** @returns {{version: number|null, state: object|null, tails: Record<string,string>, awaitingState: boolean}} */
export function emptyModel() {
  return { version: null, state: null, tails: {}, awaitingState: true };
}

export function receive(model, message) {
  switch (message?.type) {
    case 'init':
    case 'full_state':
      return {
        model: { version: message.version, state: normalizeState(message.state), tails: {}, awaitingState: false },
        requestState: false,
      };
    case 'deltas':
      return receiveDeltas(model, message.changes ?? []);
    case 'sync':
      // A beacon that disagrees always asks again, even while a request is out: that request's
      // answer may be what got lost.
      if (model.state === null) return { model, requestState: false };
      if (message.version === model.version) return { model, requestState: false };
      return { model: { ...model, awaitingState: true }, requestState: true };
    default:
      return { model, requestState: false };
  }
}

/** Each change in order, as if it had arrived on its own; a gap stops the batch and asks. */
function receiveDeltas(model, changes) {
  if (model.state === null) return { model, requestState: false };
  let { version, state, tails, awaitingState } = model;
  for (const delta of changes) {
    // Already included in the state we hold (it was newer than the delta stream).
    if (delta.version <= version) continue;
    if (delta.version !== version + 1) {
      return { model: { version, state, tails, awaitingState: true }, requestState: !awaitingState };
    }
    const next = applyChange(state, tails, delta.change);
    version = delta.version;
    state = next.state;
    tails = next.tails;
    awaitingState = false;
  }
  if (version === model.version) return { model, requestState: false };
  return { model: { version, state, tails, awaitingState }, requestState: false };
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
