// Opening a file that must be a regular one (a fleet file, a command's output file; see CORE-003
// and CORE-005) without waiting: a blocking open of a FIFO in its place would wait for a writer
// for ever, and a device or a directory is no such file either.
import { closeSync, constants, fstatSync, openSync, type Stats } from 'node:fs';

export type OpenedFile =
  /** Open for reading; the caller closes `fd`. */
  | { readonly fd: number; readonly stat: Stats }
  /** It could not be opened (`ENOENT`, `EACCES`, ...). */
  | { readonly error: NodeJS.ErrnoException }
  /** It is there but is not a regular file: `a directory`, `a FIFO`, `a socket` or `a device`. */
  | { readonly not: string };

export function openRegularFile(path: string): OpenedFile {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    return { error: error as NodeJS.ErrnoException };
  }
  const stat = fstatSync(fd);
  if (stat.isFile()) return { fd, stat };
  closeSync(fd);
  return { not: kindOf(stat) };
}

function kindOf(stat: Stats): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a FIFO';
  if (stat.isSocket()) return 'a socket';
  return 'a device';
}
