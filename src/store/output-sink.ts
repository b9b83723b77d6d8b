// A command's output streams to DATA_DIR/logs/<command-id>.log, never into SQLite or memory in
// bulk (specs/README.md, decision 6; see CORE-003). Appends, so a retried attempt keeps earlier output.
// Written with synchronous calls on the main thread, as the journal beside it is: a write stream
// handed each open, write and close to libuv's thread pool, and on a busy machine every hand-off
// cost the event loop its turn on the CPU (CORE-003, `openOutput`).
import { closeSync, constants, openSync, writeSync } from 'node:fs';
import type { OutputSink } from './types.js';

/**
 * Non-blocking, so that a FIFO someone left in the output file's place (no reader: ENXIO) or one
 * whose reader stops (EAGAIN) fails the output instead of holding the event loop for ever; a
 * regular file ignores the flag.
 */
const APPEND = constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND | constants.O_NONBLOCK;

export function createOutputSink(path: string): OutputSink {
  let fd: number | undefined;
  // A full disk must not crash the run: the error surfaces when the sink is closed.
  let failure: unknown;
  let closed = false;
  const fail = (error: unknown) => {
    failure ??= error;
  };
  try {
    fd = openSync(path, APPEND, 0o666);
  } catch (error) {
    fail(error);
  }
  return {
    write(chunk) {
      if (fd === undefined || failure !== undefined || closed) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      try {
        for (let offset = 0; offset < bytes.byteLength; ) offset += writeSync(fd, bytes, offset);
      } catch (error) {
        fail(error);
      }
    },
    close() {
      if (!closed) {
        closed = true;
        if (fd !== undefined) {
          try {
            closeSync(fd);
          } catch (error) {
            fail(error);
          }
        }
      }
      return failure === undefined ? Promise.resolve() : Promise.reject(failure);
    },
  };
}
