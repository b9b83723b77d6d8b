// A command's output as it streams in (see CORE-001, output): the log file opened on the first
// chunk, a throttled live tail for the dashboard, and `command_output` events for renderers. The
// file gets the command's bytes as they came; only the tail and the events, which are shown, are
// decoded as UTF-8 (a character split across two chunks is held until its end comes).
// Output that cannot be stored is never dropped silently: close() says why, and the journal
// failing from a stream or timer callback is handed to the run instead of crashing nixfleet with
// every command still running (CORE-002).
import { StringDecoder } from 'node:string_decoder';
import type { Journal, OutputSink } from '../store/types.js';
import { createOutputTail } from './output-tail.js';
import type { OutputChunk, RunEventListener } from './types.js';

export interface CommandOutput {
  readonly write: (chunk: OutputChunk) => void;
  /**
   * Stops the tail and closes the log file: call before the final status is journaled. Resolves
   * to why the output could not be stored, or undefined when all of it was.
   */
  close(): Promise<string | undefined>;
}

export function createCommandOutput(
  journal: Journal,
  emit: RunEventListener,
  ids: { readonly runId: string; readonly commandId: string; readonly hostId: string; readonly stage: number },
  onJournalFailure: (error: unknown) => void = () => {},
): CommandOutput {
  // A silent command costs no file (see CORE-001).
  let sink: OutputSink | undefined;
  let sinkFailed = false;
  const decoder = new StringDecoder('utf8');
  const show = (text: string) => {
    if (text === '') return;
    tail.append(text);
    emit({ type: 'command_output', ...ids, chunk: text });
  };
  const tail = createOutputTail((text) => {
    try {
      journal.reportProgress(ids.commandId, text);
    } catch (error) {
      onJournalFailure(error);
    }
  });
  return {
    write(chunk) {
      if (sink === undefined && !sinkFailed) {
        try {
          sink = journal.openOutput(ids.commandId);
        } catch (error) {
          sinkFailed = true;
          onJournalFailure(error);
        }
      }
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      sink?.write(bytes);
      show(decoder.write(bytes));
    },
    async close() {
      show(decoder.end());
      tail.stop();
      return sink?.close().then(
        () => undefined,
        (error: unknown) => (error instanceof Error ? error.message : String(error)),
      );
    },
  };
}
