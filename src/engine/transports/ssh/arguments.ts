// The `ssh` command line for one host (see CORE-007): every connection option comes from the
// fleet file, and the host's own values win over `settings.ssh`.
import { homedir } from 'node:os';
import { join } from 'node:path';
import type { Host, SshSettings } from '../../../registry/types.js';

/** Where a host is reached, as shown in error messages: `deploy@10.0.0.5:22`. */
export interface SshDestination {
  readonly address: string;
  readonly user?: string;
  readonly port: number;
}

export function destinationOf(host: Host): SshDestination {
  return { address: host.address, user: host.user, port: host.port ?? 22 };
}

/** `~` and `~/x` name the home directory of the user running nixfleet, as in a shell. */
export function expandHome(path: string): string {
  if (path === '~') return homedir();
  if (path.startsWith('~/')) return join(homedir(), path.slice(2));
  return path;
}

export function identityFileOf(host: Host, settings: SshSettings): string | undefined {
  const file = host.identityFile ?? settings.identityFile;
  return file === undefined ? undefined : expandHome(file);
}

/** Whole seconds, at least one: ssh's ConnectTimeout has no finer unit. */
export function connectTimeoutSeconds(settings: SshSettings): number {
  return Math.max(1, Math.ceil(settings.connectTimeoutMs / 1000));
}

export interface ConnectionOptions {
  readonly host: Host;
  readonly settings: SshSettings;
  /** An ssh_config file used instead of ~/.ssh/config and /etc/ssh/ssh_config (`ssh -F`). */
  readonly configFile?: string;
}

/**
 * Options every invocation for this host shares (master, session, reaper, `-O exit`).
 * BatchMode: never prompt (a prompt would hang a fleet run); LogLevel=ERROR keeps notices such as
 * "Permanently added ... to the list of known hosts" out of the command's output.
 */
export function connectionArgs({ host, settings, configFile }: ConnectionOptions): string[] {
  const args: string[] = [];
  if (configFile !== undefined) args.push('-F', configFile);
  args.push(
    '-o',
    'BatchMode=yes',
    '-o',
    `ConnectTimeout=${connectTimeoutSeconds(settings)}`,
    '-o',
    `StrictHostKeyChecking=${settings.strictHostKeyChecking}`,
    '-o',
    'LogLevel=ERROR',
  );
  if (host.port !== undefined) args.push('-p', String(host.port));
  if (host.user !== undefined) args.push('-l', host.user);
  const identityFile = identityFileOf(host, settings);
  // With a named key, offer only that key: other agent keys would count as failed attempts and
  // can trip the server's MaxAuthTries before the right one is tried.
  if (identityFile !== undefined)
    args.push('-o', optionWithPath('IdentityFile', identityFile), '-o', 'IdentitiesOnly=yes');
  return args;
}

/** How an invocation uses connection multiplexing. */
export type ControlMode =
  | { readonly kind: 'none' }
  | { readonly kind: 'master'; readonly socketPath: string; readonly persistSeconds: number }
  | { readonly kind: 'client'; readonly socketPath: string };

/**
 * `ControlPath=...` for a socket path as written on disk. ssh splits an option's value at spaces
 * (quotes group it, with backslash escaping `\\` and `"`) and expands `%` tokens, so a data
 * directory named `my fleet` or `100%` would otherwise break every ssh host (see CORE-007).
 */
export function controlPathOption(socketPath: string): string {
  return optionWithPath('ControlPath', socketPath);
}

/**
 * `NAME="PATH"`, quoted and with `%` as `%%`, so ssh reads back the path as written. The identity
 * file goes this way too, not as `-i`: ssh expands `%` tokens in either, but looks for `-i`'s file
 * before expanding, so neither `100%z` (unknown token) nor `100%%z` (no such file) worked there.
 */
function optionWithPath(name: string, path: string): string {
  const escaped = path.replace(/[\\"]/g, (c) => `\\${c}`).replace(/%/g, '%%');
  return `${name}="${escaped}"`;
}

export function controlArgs(mode: ControlMode): string[] {
  switch (mode.kind) {
    case 'none':
      return ['-o', 'ControlMaster=no', '-o', 'ControlPath=none'];
    case 'master':
      // -N: no remote command, -f: go to the background once authenticated, so the foreground
      // process exits 0 when the connection is up or 255 with the reason when it is not.
      return [
        '-o',
        'ControlMaster=yes',
        '-o',
        controlPathOption(mode.socketPath),
        '-o',
        `ControlPersist=${mode.persistSeconds}`,
        '-N',
        '-f',
      ];
    case 'client':
      return ['-o', 'ControlMaster=no', '-o', controlPathOption(mode.socketPath)];
  }
}

/**
 * The full argument list. `--` ends ssh's options so an address can never be read as one; -T: no
 * terminal (output stays byte-exact, stdout and stderr stay apart).
 */
export function sshArgs(connection: ConnectionOptions, mode: ControlMode, remoteCommand?: string): string[] {
  const args = [...connectionArgs(connection), ...controlArgs(mode)];
  if (remoteCommand !== undefined) args.push('-T');
  args.push('--', connection.host.address);
  if (remoteCommand !== undefined) args.push(remoteCommand);
  return args;
}
