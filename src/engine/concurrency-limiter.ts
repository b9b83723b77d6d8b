// At most `limit` tasks at once, started in the order they were queued (see CORE-002: hosts run
// a stage in parallel up to `concurrency`).

export interface ConcurrencyLimiter {
  run<T>(task: () => Promise<T>): Promise<T>;
  /** Tasks running now. */
  active(): number;
}

export function createConcurrencyLimiter(limit: number): ConcurrencyLimiter {
  if (!Number.isInteger(limit) || limit < 1)
    throw new RangeError(`concurrency must be a positive integer, got ${limit}`);
  let running = 0;
  const queue: (() => void)[] = [];

  const next = () => {
    while (running < limit && queue.length > 0) queue.shift()!();
  };

  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      return new Promise<T>((resolve, reject) => {
        queue.push(() => {
          running++;
          task()
            .then(resolve, reject)
            .finally(() => {
              running--;
              next();
            });
        });
        next();
      });
    },
    active: () => running,
  };
}
