// Turns a burst of file events into one "the files settled" call (see CORE-006, coalescing).
// Editors emit several events per save (truncate + write, temp file + rename, backup + write), and
// scripts may write many times in a row: the call comes once no event arrived for `quietMs`.

export interface SaveCoalescer {
  /** Records a changed path and restarts the quiet period. */
  touch(path: string): void;
  /** The paths changed since the last take, in first-seen order; clears them. */
  take(): string[];
  /** Puts paths back (a compile they triggered was overtaken by newer events). */
  restore(paths: readonly string[]): void;
  readonly hasPending: boolean;
  /** Starts the quiet period again without a new path, if paths are pending and no timer runs. */
  rearm(): void;
  cancel(): void;
}

export function createSaveCoalescer(quietMs: number, onSettled: () => void): SaveCoalescer {
  let pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;

  const arm = () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      onSettled();
    }, quietMs);
  };

  return {
    touch(path) {
      pending.add(path);
      arm();
    },
    take() {
      const paths = [...pending];
      pending = new Set();
      return paths;
    },
    restore(paths) {
      pending = new Set([...paths, ...pending]);
    },
    get hasPending() {
      return pending.size > 0;
    },
    rearm() {
      if (pending.size > 0 && timer === undefined) arm();
    },
    cancel() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      pending.clear();
    },
  };
}
