// Where a command's output goes (CORE-002): process.stdout, or what a test gives in its place.
// Only what the commands and renderers use of it, so that the CLI can hand them a stand-in that
// forwards to it (src/cli/main.ts).

/** A write that failed, a terminal resized, room again after a full buffer, the stream closed. */
export type OutputEvent = 'error' | 'resize' | 'drain' | 'close';

export interface OutputStream {
  readonly isTTY?: boolean;
  readonly columns?: number;
  readonly rows?: number;
  write(chunk: string | Uint8Array, callback?: (error?: Error | null) => void): boolean;
  on(event: OutputEvent, listener: (error: Error) => void): void;
  once(event: OutputEvent, listener: (error: Error) => void): void;
  off(event: OutputEvent, listener: (error: Error) => void): void;
}
