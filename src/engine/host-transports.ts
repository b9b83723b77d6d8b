// The run's transports, one per host (see CORE-002, "Connections"): opened by the host's first
// command and closed as soon as the host has no command left in the run, because its last stage
// ended or it dropped out. A rollout's finished waves then hold no ssh master while later waves
// run (CORE-007, "Multiplexing"), so a run's open connections follow its waves, not its fleet.
// Between its commands a host's transport stays open while fewer than IDLE_LIMIT others wait so;
// past that it is closed and opened again by the host's next command: a plain pipeline over 3,000
// hosts would otherwise hold 3,000 ssh masters from its first stage to its last.
import { type CommandStatus, isTerminalCommand } from '../domain/status.js';
import type { Registry } from '../registry/types.js';
import type { Transport, TransportFactory } from './types.js';

export interface HostTransports {
  /** The host's transport, opened if it is not. */
  of(hostId: string): Transport;
  /**
   * One of the host's commands reached a terminal status; the last one closes its transport.
   * `held`: the command had taken the transport (`of`); false for one SKIPPED or CANCELLED before
   * it started, which never closes a transport another command of the host still runs on.
   */
  ended(hostId: string, held?: boolean): void;
  /** Closes what is still open and waits for every close, the earlier ones included. */
  closeAll(): Promise<void>;
}

/** Transports kept open between a host's commands, at most (each ssh master is a process of ~1.4 MB). */
export const IDLE_LIMIT = 256;

export function createHostTransports(
  factory: TransportFactory,
  registry: Registry,
  commands: readonly { readonly hostId: string; readonly status: CommandStatus }[],
  idleLimit = IDLE_LIMIT,
): HostTransports {
  const open = new Map<string, Transport>();
  /**
   * Hosts whose transport is open and waiting for their next command. The first to wait are
   * kept, not the last: stages start their hosts in the same order, so those come back first.
   */
  const idle = new Set<string>();
  /** Per host, its commands that have not ended yet. */
  const left = new Map<string, number>();
  for (const c of commands) {
    if (!isTerminalCommand(c.status)) left.set(c.hostId, (left.get(c.hostId) ?? 0) + 1);
  }
  /** Per host, its commands that took the transport and have not ended yet. */
  const running = new Map<string, number>();
  const closing: Promise<void>[] = [];
  const close = (transport: Transport) => {
    // A close that fails (a master already gone) leaves nothing to do.
    closing.push(transport.close().catch(() => {}));
  };
  return {
    of(hostId) {
      idle.delete(hostId);
      running.set(hostId, (running.get(hostId) ?? 0) + 1);
      let transport = open.get(hostId);
      if (!transport) {
        transport = factory(registry.hosts.get(hostId), registry);
        open.set(hostId, transport);
      }
      return transport;
    },
    ended(hostId, held = true) {
      const remaining = (left.get(hostId) ?? 0) - 1;
      left.set(hostId, remaining);
      if (held) running.set(hostId, (running.get(hostId) ?? 1) - 1);
      const transport = open.get(hostId);
      if (!transport) return;
      // A later stage SKIPPED while the host's command (or its rollback, CORE-009) still runs on
      // the transport: that command's own end decides, not this one.
      if ((running.get(hostId) ?? 0) > 0) return;
      if (remaining > 0 && idle.size < idleLimit) {
        idle.add(hostId);
        return;
      }
      idle.delete(hostId);
      open.delete(hostId);
      close(transport);
    },
    async closeAll() {
      for (const transport of open.values()) close(transport);
      open.clear();
      idle.clear();
      await Promise.all(closing);
    },
  };
}
