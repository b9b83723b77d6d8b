// Where a host's multiplexing master listens (see CORE-007, multiplexing). Unix socket paths are
// limited (104 bytes on macOS, 108 on Linux) and ssh appends a 17-character temporary suffix while
// it creates the socket, so the path is kept short: a private directory per transport and a
// one-letter socket name, falling back to the system temp directory when controlDir is too deep.
//
// Each directory holds an owner file (pid, host, start time, as runs' owners: CORE-003), so that a
// later nixfleet can tell the directories of a nixfleet that died without `close()` (`kill -9`)
// from those of one still running, and remove only the former (CORE-007, "Data").
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { makeDirectory } from '../../../store/make-directory.js';
import { currentOwner, isOwnerAlive } from '../../../store/owner.js';
import type { Owner } from '../../../store/types.js';
import { askMasterToExit } from './mux-control.js';

/** The longest socket path we hand to ssh: 104 minus ssh's suffix, with a small margin. */
export const MAX_SOCKET_PATH = 84;

/** Inside each control directory: the nixfleet process that made it. */
export const OWNER_FILE = 'owner';
const SOCKET_NAME = 'm';

export interface ControlSocket {
  /** A 0700 directory only this transport uses; removed by `remove()`. */
  readonly directory: string;
  readonly socketPath: string;
  remove(): void;
}

/**
 * Where control directories are made, first choice first, and how they are named there. The data
 * directory's `ssh` is nixfleet's own; in the shared temp directories a longer prefix keeps them
 * apart from other programs' (ssh-agent makes `/tmp/ssh-XXXXXXXXXX`).
 */
function places(controlDir: string): { parent: string; prefix: string }[] {
  return [
    { parent: controlDir, prefix: 'ssh-' },
    { parent: tmpdir(), prefix: 'nixfleet-ssh-' },
    { parent: '/tmp', prefix: 'nixfleet-ssh-' },
  ];
}

export function createControlSocket(controlDir: string): ControlSocket {
  const candidates = places(controlDir);
  for (const { parent, prefix } of candidates) {
    // mkdtemp adds 6 characters to the prefix; the socket adds "/m".
    if (join(parent, `${prefix}XXXXXX`, SOCKET_NAME).length > MAX_SOCKET_PATH) continue;
    // The data directory's `ssh/`, when nixfleet makes it, is owner only like the rest of it (CORE-003).
    makeDirectory(parent, { private: true });
    const directory = mkdtempSync(join(parent, prefix));
    // Anyone who can open the socket can run commands as the remote user: owner only.
    chmodSync(directory, 0o700);
    writeFileSync(join(directory, OWNER_FILE), `${JSON.stringify(currentOwner())}\n`, { mode: 0o600 });
    return {
      directory,
      socketPath: join(directory, SOCKET_NAME),
      remove: () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  const tried = candidates.map((place) => place.parent);
  throw new Error(`no directory short enough for an ssh control socket (tried ${tried.join(', ')})`);
}

/**
 * Removes the control directories that nixfleet processes which are gone left behind (killed
 * with SIGKILL, and their lifeline with them: CORE-011), after asking a master that still
 * listens in one to exit, as `ssh -O exit` does. Only a directory with one of our names, of this
 * user, whose owner file names a process that is not running (pid, start time and host compared,
 * so a reused pid or another machine sharing the data directory keeps it) is touched; one
 * without an owner file (being made this instant, or by an older version) is left alone.
 */
export async function removeStaleControlDirectories(controlDir: string): Promise<void> {
  const stale: string[] = [];
  const seen = new Set<string>();
  for (const { parent, prefix } of places(controlDir)) {
    if (seen.has(parent)) continue;
    seen.add(parent);
    for (const name of entriesOf(parent)) {
      if (!name.startsWith(prefix) || !/^[A-Za-z0-9]{6}$/.test(name.slice(prefix.length))) continue;
      const directory = join(parent, name);
      if (isStale(directory)) stale.push(directory);
    }
  }
  await Promise.all(
    stale.map(async (directory) => {
      const socketPath = join(directory, SOCKET_NAME);
      if (existsSync(socketPath)) await askMasterToExit(socketPath);
      try {
        rmSync(directory, { recursive: true, force: true });
      } catch {
        // Not ours to remove after all (a changed mode); the next start looks again.
      }
    }),
  );
}

function entriesOf(parent: string): string[] {
  try {
    return readdirSync(parent);
  } catch {
    return [];
  }
}

function isStale(directory: string): boolean {
  try {
    const stat = lstatSync(directory);
    if (!stat.isDirectory() || stat.uid !== process.getuid?.()) return false;
    const owner = JSON.parse(readFileSync(join(directory, OWNER_FILE), 'utf8')) as Partial<Owner>;
    if (typeof owner.pid !== 'number' || typeof owner.hostname !== 'string' || typeof owner.startedAt !== 'number') {
      return false;
    }
    return !isOwnerAlive(owner as Owner);
  } catch {
    return false;
  }
}
