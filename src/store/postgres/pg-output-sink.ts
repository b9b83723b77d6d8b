// The OutputSink of the PostgreSQL journal (see CORE-012): output is buffered on the calling
// thread and stored as one chunk per flush (every 64 KiB or 200 ms, and at close), so a chatty
// command costs a few inserts a second rather than one per line.
import type { OutputSink } from '../types.js';

const FLUSH_BYTES = 64 * 1024;
const FLUSH_MS = 200;

export function createPgOutputSink(append: (data: Uint8Array) => void): OutputSink {
  let pending: Buffer[] = [];
  let size = 0;
  let failure: unknown;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (size === 0 || failure !== undefined) return;
    const chunk = Buffer.concat(pending, size);
    pending = [];
    size = 0;
    try {
      append(chunk);
    } catch (error) {
      // A lost connection must not crash the run: the error surfaces when the sink is closed.
      failure = error;
    }
  };

  return {
    write(chunk) {
      if (closed || failure !== undefined) return;
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk);
      pending.push(bytes);
      size += bytes.length;
      if (size >= FLUSH_BYTES) flush();
      else if (!timer) {
        timer = setTimeout(flush, FLUSH_MS);
        timer.unref();
      }
    },
    async close() {
      if (!closed) {
        closed = true;
        flush();
      }
      if (failure !== undefined) throw failure;
    },
  };
}
