// A command's output as it streams in (see CORE-001, output): the log file opened on the first
// chunk, a throttled live tail for the dashboard, and `command_output` events for renderers.
import type { Journal, OutputSink } from '../store/types.js';
import { createOutputTail } from './output-tail.js';
import type { RunEventListener } from './types.js';

export interface CommandOutput {
  readonly write: (chunk: string) => void;
  /** Stops the tail and closes the log file: call before the final status is journaled. */
  close(): Promise<void>;
}

export function createCommandOutput(
  journal: Journal,
  emit: RunEventListener,
  ids: { readonly runId: string; readonly commandId: string; readonly hostId: string; readonly stage: number },
): CommandOutput {
  // A silent command costs no file (see CORE-001).
  let sink: OutputSink | undefined;
  const tail = createOutputTail((text) => journal.reportProgress(ids.commandId, text));
  return {
    write(chunk) {
      sink ??= journal.openOutput(ids.commandId);
      sink.write(chunk);
      tail.append(chunk);
      emit({ type: 'command_output', ...ids, chunk });
    },
    async close() {
      tail.stop();
      await sink?.close().catch(() => {});
    },
  };
}
