// A command's live output as the rest of nixfleet sees it while it runs: a bounded tail, reported
// to the journal at most a few times a second (see CORE-001). The full output goes to the log file.

/** Most characters of output kept for the live tail (command_progress, renderers). */
export const TAIL_LIMIT = 4096;
/** At most this many progress reports per command per second. */
export const PROGRESS_PER_SECOND = 4;

export interface OutputTail {
  append(chunk: string): void;
  text(): string;
  /** Stops the pending report, if any; later appends report nothing. */
  stop(): void;
}

/**
 * `report` gets the tail at most PROGRESS_PER_SECOND times a second: the first chunk is reported
 * at once, later ones are coalesced into one report at the end of the interval.
 */
export function createOutputTail(report: (tail: string) => void, now: () => number = Date.now): OutputTail {
  const interval = 1000 / PROGRESS_PER_SECOND;
  let tail = '';
  let lastReport = Number.NEGATIVE_INFINITY;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const flush = () => {
    timer = undefined;
    if (stopped) return;
    lastReport = now();
    report(tail);
  };

  return {
    append(chunk) {
      if (stopped) return;
      tail = (tail + chunk).slice(-TAIL_LIMIT);
      if (timer !== undefined) return;
      const wait = lastReport + interval - now();
      if (wait <= 0) flush();
      else timer = setTimeout(flush, wait);
    },
    text: () => tail,
    stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
}
