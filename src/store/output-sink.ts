// A command's output streams to DATA_DIR/logs/<command-id>.log, never into SQLite or memory in
// bulk (specs/README.md, decision 6; see CORE-003). Appends, so a retried attempt keeps earlier output.
import { createWriteStream } from 'node:fs';
import type { OutputSink } from './types.js';

export function createOutputSink(path: string): OutputSink {
  const stream = createWriteStream(path, { flags: 'a' });
  let failure: Error | undefined;
  // A full disk must not crash the run: the error surfaces when the sink is closed.
  stream.on('error', (error) => {
    failure ??= error;
  });
  let closing: Promise<void> | undefined;
  return {
    write(chunk) {
      if (!failure && !closing) stream.write(chunk);
    },
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        const settle = () => (failure ? reject(failure) : resolve());
        if (stream.closed) settle();
        else {
          // autoClose: 'close' follows 'finish' (or an error), once the descriptor is released.
          stream.once('close', settle);
          stream.end();
        }
      });
      return closing;
    },
  };
}
