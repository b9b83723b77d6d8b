// How long-running commands (`watch`, `serve`) stop: the first SIGINT/SIGTERM asks them to wind
// down; any later one calls `again` (kill what is still running) until disposed. SIGHUP (the
// terminal closed) winds down and kills at once: nobody is left to send a second signal, and
// nixfleet must not die of it with commands running (CORE-011).

import { leaveHungUpTerminalAtExit } from '../domain/hung-up-terminal.js';

export interface StopSignal {
  readonly signal: Promise<void>;
  dispose(): void;
}

export function waitForStopSignal(again: () => void): StopSignal {
  let count = 0;
  let resolveSignal!: () => void;
  const signal = new Promise<void>((resolve) => {
    resolveSignal = resolve;
  });
  const onSignal = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP') leaveHungUpTerminalAtExit();
    count += 1;
    if (count === 1) resolveSignal();
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
