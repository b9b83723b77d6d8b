// Whether a path is a directory now, following links; false for a missing path and for one that
// cannot be a directory (`ENOTDIR`, `ELOOP`, a name too long, no permission to look).
import { statSync } from 'node:fs';

export function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
