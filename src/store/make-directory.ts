// Creates a directory and its missing parents, like `mkdir -p` (see CORE-003, the data
// directory). Node's own `mkdirSync(path, { recursive: true })` never returns for a path in a
// file system that refuses new directories with ENOENT, such as /proc: `--data-dir /proc/x` hung
// every command that opens the journal. Here each level is tried once, and the refusal is thrown.
import { mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';

export function makeDirectory(path: string): void {
  try {
    mkdirSync(path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectory(path)) return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
  }
  makeDirectory(dirname(path));
  try {
    mkdirSync(path);
  } catch (error) {
    // Another process made it in between.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(path)) throw error;
  }
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}
