// Turns ssh's own diagnostics into one clear line for the journal (see CORE-007, errors).
// ssh exits 255 both when it fails itself and when the remote command exits 255; the caller tells
// those apart (the remote side announces its start), and only ssh's own failures come here.
import { spawnFailureReason } from '../spawn-failure.js';
import { SPAWNER_LOST, spawnerLostReason } from '../spawner/spawner-client.js';
import type { SshDestination } from './arguments.js';

/** Why an ssh client (a session's or a master's) never started: its spawner said it failed. */
export function sshNotStartedReason(cause: unknown): string {
  const code = (cause as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'ssh: no `ssh` client on PATH (install OpenSSH)';
  if (code === SPAWNER_LOST) return spawnerLostReason('ssh');
  return `ssh: ${spawnFailureReason(cause, 'ssh')}`;
}

function who(destination: SshDestination): string {
  return destination.user === undefined ? destination.address : `${destination.user}@${destination.address}`;
}

function where(destination: SshDestination): string {
  return `${destination.address}:${destination.port}`;
}

interface Rule {
  readonly pattern: RegExp;
  readonly reason: (destination: SshDestination, match: RegExpMatchArray) => string;
}

// Ordered: the host-key banner also mentions other things, so it is matched first.
const RULES: readonly Rule[] = [
  {
    pattern: /REMOTE HOST IDENTIFICATION HAS CHANGED|Host key for .* has changed/,
    reason: (d) => `ssh: host key for ${d.address} does not match known_hosts`,
  },
  {
    pattern: /No \S+ host key is known for .* strict checking/,
    reason: (d) => `ssh: host key for ${d.address} is not in known_hosts (strictHostKeyChecking: yes)`,
  },
  { pattern: /Host key verification failed/, reason: (d) => `ssh: host key verification failed for ${d.address}` },
  {
    pattern: /Permission denied \(([^)]*)\)/,
    reason: (d, m) => `ssh: permission denied (${m[1]}) for ${who(d)}`,
  },
  { pattern: /Connection refused/, reason: (d) => `ssh: connection refused by ${where(d)}` },
  {
    pattern: /Connection timed out|Operation timed out|timed out during banner exchange/,
    reason: (d) => `ssh: connection to ${where(d)} timed out`,
  },
  { pattern: /No route to host/, reason: (d) => `ssh: no route to host ${d.address}` },
  { pattern: /Network is unreachable/, reason: (d) => `ssh: network unreachable for ${d.address}` },
  {
    pattern: /Could not resolve hostname|Name or service not known|nodename nor servname/,
    reason: (d) => `ssh: cannot resolve host name ${d.address}`,
  },
  {
    pattern: /Identity file .* not accessible|no such identity/,
    reason: (d) => `ssh: identity file for ${who(d)} is not readable`,
  },
  {
    // A user's ssh_config may run a command of its own on login; nixfleet always sends one.
    pattern: /Cannot execute command-line and remote command/,
    reason: (d) =>
      `ssh: the ssh_config for ${d.address} sets RemoteCommand, and nixfleet sends a command of its own: set \`RemoteCommand none\` for it, or give nixfleet an ssh_config of its own (NIXFLEET_SSH_CONFIG)`,
  },
  {
    pattern: /Connection (closed|reset) by .*|kex_exchange_identification/,
    reason: (d) => `ssh: connection to ${where(d)} closed during the handshake`,
  },
];

export function describeSshFailure(stderr: string, destination: SshDestination, exitCode: number | null): string {
  for (const rule of RULES) {
    const match = stderr.match(rule.pattern);
    if (match) return rule.reason(destination, match);
  }
  const lastLine = lastNonEmptyLine(stderr);
  if (lastLine !== undefined) return `ssh: ${lastLine.replace(/^ssh: /, '')}`;
  return `ssh: failed to reach ${who(destination)} (exit ${exitCode ?? 'by signal'})`;
}

// What ssh prints when an established connection dies under a running command.
const CONNECTION_LOST =
  /^(Connection to .* closed by remote host\.?|client_loop: .*|Timeout, server .* not responding\.?|packet_write_wait: .*|mux_client_\w+: .*|Broken pipe)$/;

/** True when the last line of stderr is ssh reporting a dropped connection, not the command's output. */
export function isConnectionLoss(stderr: string): boolean {
  const lastLine = lastNonEmptyLine(stderr);
  return lastLine !== undefined && CONNECTION_LOST.test(lastLine);
}

export function connectionLossReason(destination: SshDestination): string {
  return `ssh: connection to ${where(destination)} was lost while the command ran`;
}

function lastNonEmptyLine(text: string): string | undefined {
  const lines = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  return lines.at(-1);
}
