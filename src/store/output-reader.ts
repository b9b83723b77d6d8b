// Reads a command's output file back by byte range (the SQLite journal's Journal.readOutput and
// outputSize; see CORE-003): only the requested bytes are read, never the whole file.
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import type { Journal } from './types.js';

export function fileSize(path: string | null): number {
  if (path === null) return 0;
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/** Throws (ENOENT) when the file is gone: retention removed it, and the caller says so. */
export function readFileRange(path: string | null, range: { readonly start?: number; readonly end?: number }): Buffer {
  if (path === null) return Buffer.alloc(0);
  const size = statSync(path).size;
  const start = Math.max(0, range.start ?? 0);
  const end = Math.min(size, range.end ?? size);
  if (end <= start) return Buffer.alloc(0);
  const buffer = Buffer.alloc(end - start);
  const fd = openSync(path, 'r');
  try {
    let read = 0;
    while (read < buffer.length) {
      const n = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (n === 0) break;
      read += n;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

/**
 * A command's stored output from `start` to `end`, `pieceBytes` at a time, through the journal
 * (either engine): whoever sends it on (`logs`, the dashboard's output route) never holds it whole.
 */
export function* outputPieces(
  journal: Pick<Journal, 'readOutput'>,
  commandId: string,
  range: { readonly start: number; readonly end: number },
  pieceBytes: number,
): Generator<Buffer> {
  for (let at = range.start; at < range.end; at += pieceBytes) {
    const piece = journal.readOutput(commandId, { start: at, end: Math.min(range.end, at + pieceBytes) });
    if (piece.length === 0) return;
    yield piece;
  }
}
