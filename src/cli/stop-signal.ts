// How long-running commands (`watch`, `serve`) stop: the first SIGINT/SIGTERM/SIGHUP asks them to
// wind down; any later one calls `again` (kill what is still running) until disposed. SIGHUP (the
// terminal closed) counts like the others, so nixfleet never dies of it with commands running
// (CORE-011).

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
  const onSignal = () => {
    count += 1;
    if (count === 1) resolveSignal();
    else again();
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
