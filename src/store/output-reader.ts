// Reads a command's output file back by byte range (the SQLite journal's Journal.readOutput and
// outputSize; see CORE-003): only the requested bytes are read, never the whole file.
import { closeSync, fstatSync, readSync, statSync } from 'node:fs';
import { openRegularFile } from '../domain/regular-file.js';
import { JournalError } from './journal-error.js';
import type { Journal } from './types.js';

export function fileSize(path: string | null): number {
  if (path === null) return 0;
  try {
    return statSync(path).size;
  } catch {
    return 0;
  }
}

/**
 * Throws ENOENT when the file is gone: retention removed it, and the caller says so. A file that is
 * there but cannot be read (a directory, no permission, a FIFO) is a JournalError naming it
 * (CORE-003, errors), found when the file is opened, before a byte is read.
 */
export function readFileRange(path: string | null, range: { readonly start?: number; readonly end?: number }): Buffer {
  if (path === null) return Buffer.alloc(0);
  const fd = openOutputFile(path);
  try {
    const size = fstatSync(fd).size;
    const start = Math.max(0, range.start ?? 0);
    const end = Math.min(size, range.end ?? size);
    if (end <= start) return Buffer.alloc(0);
    const buffer = Buffer.alloc(end - start);
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

function openOutputFile(path: string): number {
  const opened = openRegularFile(path);
  if ('fd' in opened) return opened.fd;
  if ('not' in opened) {
    const what = opened.not === 'a directory' ? 'a directory' : 'not a regular file';
    throw new JournalError('unusable', path, `cannot read the output file ${path}: it is ${what}`, MOVE_AWAY);
  }
  const { code } = opened.error;
  if (code === 'ENOENT') throw opened.error;
  const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (code ?? String(opened.error));
  throw new JournalError('unusable', path, `cannot read the output file ${path}: ${why}`, READABLE);
}

const READABLE = 'make it readable by the user running nixfleet, or run nixfleet as its owner';
const MOVE_AWAY =
  "move it away: nixfleet keeps each command's output in a file of that name (then logs says it is no longer stored)";

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

/**
 * Said in place of the output of a command whose journal row names a file outside the data
 * directory's `logs/` (a hand-edited or damaged journal): nothing there is ever read (CORE-003,
 * retention). One wording for `nixfleet logs` and the dashboard's output route (CORE-004).
 */
export function outputOutsideText(commandId: string, storedPath: string): string {
  return `output of ${commandId} is not stored: the journal names ${storedPath}, outside the data directory's logs/, and nixfleet reads no file there`;
}
