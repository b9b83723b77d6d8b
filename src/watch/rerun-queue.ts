// `watch --run` scheduling (see CORE-006, re-runs): never two runs at once, and any number of
// good reloads during a run queue exactly one run after it, which then uses the newest snapshot.

export interface RerunQueue {
  /** Asks for a run: starts one now when idle, else queues one (at most one is ever queued). */
  request(): void;
  readonly isRunning: boolean;
  readonly isQueued: boolean;
  /** Drops a queued run and resolves when the run in progress (if any) has finished. */
  stop(): Promise<void>;
}

export function createRerunQueue(runOnce: () => Promise<void>): RerunQueue {
  let loop: Promise<void> | undefined;
  let isQueued = false;
  let isStopped = false;

  async function drain(): Promise<void> {
    do {
      isQueued = false;
      await runOnce();
    } while (isQueued && !isStopped);
  }

  return {
    request() {
      if (isStopped) return;
      if (loop) {
        isQueued = true;
        return;
      }
      loop = drain().finally(() => {
        loop = undefined;
      });
    },
    get isRunning() {
      return loop !== undefined;
    },
    get isQueued() {
      return isQueued;
    },
    async stop() {
      isStopped = true;
      isQueued = false;
      await loop;
    },
  };
}
