// Waits without returning to the event loop, for the few places that must block their caller
// (inside a transaction, or while opening the journal synchronously).
const CELL = new Int32Array(new SharedArrayBuffer(4));

/** Blocks this thread for `ms` milliseconds: nothing ever wakes the cell it waits on. */
export function pauseSync(ms: number): void {
  Atomics.wait(CELL, 0, 0, ms);
}
