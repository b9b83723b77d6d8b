// Reads a fleet file (the main file or an included one) as text, refusing what is not a regular
// file or is too large to be one (see CORE-005, the file). A device never ends (`-f /dev/zero`
// grew to 4 GB), and a FIFO without a writer never starts: the open itself waited for ever.
// Sync: each file is read once, and on Node 24 loading `node:fs/promises` alone adds about 3 ms
// to every start (CORE-005, start-up).
import { closeSync, fstatSync, readSync } from 'node:fs';
import { dirname } from 'node:path';
import { openRegularFile } from '../domain/regular-file.js';

/** Standard input named as the fleet file (`-f /dev/stdin`, CORE-005). */
export const STDIN_FLEET = '/dev/stdin';

/**
 * Where a fleet file's relative paths start (`include:`, `settings.dataDir`, `identityFile`): its
 * own directory, or the current one for standard input, which has none (`/dev` is no place for a
 * journal).
 */
export function fleetDirectory(path: string, cwd: string): string {
  return path === STDIN_FLEET ? cwd : dirname(path);
}

/** The largest fleet file read, main or included: 8 MiB (CORE-005). */
export const MAX_FLEET_FILE_BYTES = 8 * 1024 * 1024;

export type FleetText =
  /** `badByteAt`: where in `text` the first byte that is not UTF-8 was (its `\uFFFD`). */
  | { readonly text: string; readonly badByteAt?: { readonly index: number; readonly byte: number } }
  /** The file cannot be read: `ENOENT`, `EACCES`, ... */
  | { readonly code: string }
  /** It can, but is no fleet file: `is a directory`, ... (the file's name goes before it). */
  | { readonly unfit: string; readonly kind: 'directory' | 'special' | 'large' };

/** The fix for a file that is no fleet file, by what it is and where it was named. */
export const UNFIT_HINTS = {
  main: {
    directory: 'pass the YAML file in it, e.g. `-f DIR/fleet.yaml`',
    special: 'pass a regular YAML file with `-f FILE`; a pipe is read only as `-f /dev/stdin`',
    large: 'check that `-f` names the fleet file; a larger fleet can be split with `include:`',
  },
  included: {
    directory: 'include the files in it with a glob, e.g. `DIR/*.yaml`',
    special: 'include regular YAML files only',
    large: 'split it into several included files',
  },
} as const;

export function readFleetText(path: string): FleetText {
  // A pipe given as `-f /dev/stdin` is read as it comes, up to the same size (CORE-005): a socket,
  // as Node gives its children for stdin, cannot be opened again by name.
  if (path === STDIN_FLEET && stdinIsPipe()) return readUpToLimit(0);
  const opened = openRegularFile(path);
  if ('error' in opened) return { code: opened.error.code ?? String(opened.error) };
  if ('not' in opened) {
    return opened.not === 'a directory'
      ? { unfit: 'is a directory, not a file', kind: 'directory' }
      : { unfit: `is ${opened.not}, not a regular file`, kind: 'special' };
  }
  const { fd, stat } = opened;
  try {
    if (stat.size > MAX_FLEET_FILE_BYTES) return tooLarge(stat.size);
    // Still bounded: a file can grow while it is read, and /proc's say they hold 0 bytes.
    return readUpToLimit(fd);
  } finally {
    closeSync(fd);
  }
}

function readUpToLimit(fd: number): FleetText {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.alloc(64 * 1024);
    let n: number;
    try {
      n = readSync(fd, chunk, 0, chunk.length, null);
    } catch (error) {
      return { code: (error as NodeJS.ErrnoException).code ?? String(error) };
    }
    if (n === 0) return decoded(Buffer.concat(chunks));
    total += n;
    if (total > MAX_FLEET_FILE_BYTES) return tooLarge(undefined);
    chunks.push(chunk.subarray(0, n));
  }
}

/**
 * The text, and where its first byte that is not UTF-8 is: Node puts `\uFFFD` in its place, which
 * would change a value without a word (a Latin-1 `café`). A `\uFFFD` written as such (EF BF BD)
 * is text like any other.
 */
function decoded(bytes: Buffer): FleetText {
  const text = bytes.toString('utf8');
  if (!text.includes('\uFFFD') || Buffer.from(text, 'utf8').equals(bytes)) return { text };
  let at = 0;
  for (let index = 0; index < text.length; ) {
    const point = text.codePointAt(index) ?? 0;
    const written = point === 0xfffd && bytes[at] === 0xef && bytes[at + 1] === 0xbf && bytes[at + 2] === 0xbd;
    if (point === 0xfffd && !written) return { text, badByteAt: { index, byte: bytes[at] ?? 0 } };
    const size = point < 0x80 ? 1 : point < 0x800 ? 2 : point < 0x10000 ? 3 : 4;
    at += size;
    index += point > 0xffff ? 2 : 1;
  }
  return { text };
}

/** `bytes` when known before reading. */
function tooLarge(bytes: number | undefined): FleetText {
  const limit = `${MAX_FLEET_FILE_BYTES} bytes (8 MiB)`;
  return {
    unfit:
      bytes === undefined
        ? `is larger than ${limit}, the most a fleet file may be`
        : `is ${bytes} bytes; a fleet file may be at most ${limit}`,
    kind: 'large',
  };
}

function stdinIsPipe(): boolean {
  try {
    const stat = fstatSync(0);
    return stat.isFIFO() || stat.isSocket();
  } catch {
    return false;
  }
}
