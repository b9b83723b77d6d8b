// Creates a directory and its missing parents, like `mkdir -p` (see CORE-003, the data
// directory). Node's own `mkdirSync(path, { recursive: true })` never returns for a path in a
// file system that refuses new directories with ENOENT, such as /proc: `--data-dir /proc/x` hung
// every command that opens the journal. Here each level is tried once, and the refusal is thrown.
//
// `private`: every directory made here is 0700 whatever the umask, because the data directory
// holds commands' output (CORE-003, "Who may read it"). A directory that already exists is left
// as it is: whoever made it chose who may read it.
import { chmodSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { isDirectory } from '../domain/is-directory.js';

export interface DirectoryOptions {
  /** Owner only (0700): the data directory and its `ssh/`. */
  readonly private?: boolean;
}

export function makeDirectory(path: string, options: DirectoryOptions = {}): void {
  try {
    make(path, options);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && isDirectory(path)) return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
  }
  makeDirectory(dirname(path), options);
  try {
    make(path, options);
  } catch (error) {
    // Another process made it in between.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(path)) throw error;
  }
}

/** One level; throws EEXIST when it is there already, which is then not ours to change. */
function make(path: string, options: DirectoryOptions): void {
  if (options.private !== true) {
    mkdirSync(path);
    return;
  }
  mkdirSync(path, 0o700);
  try {
    // The umask can only take bits away from 0700; the chmod makes it exactly 0700 either way.
    chmodSync(path, 0o700);
  } catch {
    // A file system without modes (vfat): the directory is there, and usable.
  }
}
