// How long-running commands (`watch`, `serve`) stop: the first SIGINT/SIGTERM asks them to wind
// down; any later one calls `again` (kill what is still running) until disposed. SIGHUP (the
// terminal closed) winds down and kills at once: nobody is left to send a second signal, and
// nixfleet must not die of it with commands running (CORE-011).

import { leaveHungUpTerminalAtExit } from '../domain/hung-up-terminal.js';

export interface StopSignal {
  /** The first signal: after SIGHUP, what runs is already being killed. */
  readonly signal: Promise<NodeJS.Signals>;
  dispose(): void;
}

export function waitForStopSignal(again: () => void): StopSignal {
  let count = 0;
  let resolveSignal!: (signal: NodeJS.Signals) => void;
  const signal = new Promise<NodeJS.Signals>((resolve) => {
    resolveSignal = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP') leaveHungUpTerminalAtExit();
    count += 1;
    if (count === 1) resolveSignal(signal);
    // A closed terminal cannot send the second signal: SIGHUP kills at once, like a second one.
    if (count > 1 || signal === 'SIGHUP') again();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  return {
    signal,
    dispose() {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
    },
  };
}

/** How a stopping command says what happens to its runs' running commands after `signal`. */
export function runningCommandsAfter(signal: NodeJS.Signals): string {
  return signal === 'SIGHUP'
    ? 'the terminal closed: running commands are killed'
    : 'Ctrl-C again to kill running commands';
}
