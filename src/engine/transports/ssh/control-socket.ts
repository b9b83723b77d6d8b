// Where a host's multiplexing master listens (see CORE-007, multiplexing). Unix socket paths are
// limited (104 bytes on macOS, 108 on Linux) and ssh appends a 17-character temporary suffix while
// it creates the socket, so the path is kept short: a private directory per transport and a
// one-letter socket name, falling back to the system temp directory when controlDir is too deep.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The longest socket path we hand to ssh: 104 minus ssh's suffix, with a small margin. */
export const MAX_SOCKET_PATH = 84;

export interface ControlSocket {
  /** A 0700 directory only this transport uses; removed by `remove()`. */
  readonly directory: string;
  readonly socketPath: string;
  remove(): void;
}

export function createControlSocket(controlDir: string): ControlSocket {
  const candidates = [controlDir, tmpdir(), '/tmp'];
  for (const parent of candidates) {
    // mkdtemp adds 6 characters to the prefix; the socket adds "/m".
    if (join(parent, 'ssh-XXXXXX', 'm').length > MAX_SOCKET_PATH) continue;
    mkdirSync(parent, { recursive: true });
    const directory = mkdtempSync(join(parent, 'ssh-'));
    // Anyone who can open the socket can run commands as the remote user: owner only.
    chmodSync(directory, 0o700);
    return {
      directory,
      socketPath: join(directory, 'm'),
      remove: () => rmSync(directory, { recursive: true, force: true }),
    };
  }
  throw new Error(`no directory short enough for an ssh control socket (tried ${candidates.join(', ')})`);
}
