// How a run learns it should stop (see CORE-002, cancel): a local request (Ctrl-C, the API) or a
// request journaled by another process (`nixfleet cancel RUN_ID [--kill]`, the dashboard), polled
// often enough that it is honoured within a second. Kills reach the whole run or one host's
// running command (CORE-011).
import { setMaxListeners } from 'node:events';
import { JournalError } from '../store/journal-error.js';
import { StoreUnavailableError } from '../store/store-unavailable-error.js';
import type { Journal } from '../store/types.js';

/** How often the journal is asked whether another process requested a cancel. */
export const CANCEL_POLL_MS = 250;

export interface RunCancellation {
  /** Aborted when running commands must be killed too. */
  readonly killSignal: AbortSignal;
  /** Aborted when the run is killed, or this host's running command is (per-host kill). */
  killSignalFor(hostId: string): AbortSignal;
  isRequested(): boolean;
  request(options?: { kill?: boolean }): void;
  /** Kills the running command of one host (journaled, so every view sees it); the run goes on. */
  killHost(hostId: string): void;
  /** Called once, on the first request. */
  onRequest(listener: () => void): void;
  /** Called when the poll finds the journal unusable (replaced, disk full): the run must stop. */
  onJournalFailure(listener: (error: JournalError | StoreUnavailableError) => void): void;
  stop(): void;
}

export function createRunCancellation(journal: Journal, runId: string): RunCancellation {
  const kill = new AbortController();
  // Every running command listens on the one kill signal: hundreds at a time is expected.
  setMaxListeners(0, kill.signal);
  let requested = false;
  const listeners: (() => void)[] = [];
  // One signal per host, aborted by a kill of its host or of the whole run: a command listens on
  // its host's alone, so none needs a signal of its own combining the two.
  const hostKills = new Map<string, AbortController>();
  const hostKill = (hostId: string) => {
    let controller = hostKills.get(hostId);
    if (!controller) {
      controller = new AbortController();
      setMaxListeners(0, controller.signal);
      if (kill.signal.aborted) controller.abort();
      hostKills.set(hostId, controller);
    }
    return controller;
  };
  const killAll = () => {
    kill.abort();
    for (const controller of hostKills.values()) controller.abort();
  };
  const failureListeners: ((error: JournalError | StoreUnavailableError) => void)[] = [];

  const markRequested = () => {
    if (requested) return;
    requested = true;
    for (const listener of listeners) listener();
  };
  const poll = setInterval(() => {
    if (kill.signal.aborted) return;
    try {
      const run = journal.getRun(runId);
      if (run !== undefined && run.status !== 'RUNNING') {
        // Only another nixfleet ends a run this one still runs: it judged this process gone
        // (CORE-012: its lease lapsed while it was paused or cut off from the database). Its
        // hosts may be another run's by now, so nothing more of this run may run.
        const taken = takenOver(runId, run.status);
        for (const listener of failureListeners) listener(taken);
        return;
      }
      if (run?.cancelRequested) markRequested();
      if (run?.killRequested) killAll();
      for (const hostId of run?.killHosts ?? []) hostKill(hostId).abort();
    } catch (error) {
      // A busy database must not stop the run; the next poll asks again. A journal that failed,
      // was replaced, or whose PostgreSQL connection was lost must: this poll is what notices it
      // while commands run for a long time (CORE-002).
      const failed = (error instanceof JournalError && error.kind !== 'busy') || error instanceof StoreUnavailableError;
      if (failed) {
        for (const listener of failureListeners) listener(error);
      }
    }
  }, CANCEL_POLL_MS);

  return {
    killSignal: kill.signal,
    isRequested: () => requested,
    request(options = {}) {
      if (!requested || (options.kill && !kill.signal.aborted)) {
        try {
          // Journaled so every other view (dashboard, `nixfleet show`) sees the run is cancelling.
          journal.requestCancel(runId, options.kill ? { kill: true } : {});
        } catch {
          // The run may already be finished; the local flag is what stops it.
        }
      }
      markRequested();
      if (options.kill) killAll();
    },
    killHost(hostId) {
      try {
        journal.requestCancel(runId, { kill: true, hostId });
      } catch {
        // Finished already: nothing runs to kill.
      }
      hostKill(hostId).abort();
    },
    killSignalFor(hostId) {
      return hostKill(hostId).signal;
    },
    onRequest(listener) {
      listeners.push(listener);
    },
    onJournalFailure(listener) {
      failureListeners.push(listener);
    },
    stop() {
      clearInterval(poll);
    },
  };
}

function takenOver(runId: string, status: string): JournalError {
  return new JournalError(
    'taken',
    runId,
    `run ${runId} was marked ${status} by another nixfleet while this one still ran it: nothing more of it runs here`,
    'this nixfleet was taken for gone: paused, asleep or cut off from the shared journal for longer than its lease ($NIXFLEET_LEASE_SECONDS); see what ran with `nixfleet show`, then retry the run',
  );
}
