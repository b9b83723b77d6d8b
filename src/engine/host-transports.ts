// The run's transports, one per host (see CORE-002, "Connections"): opened by the host's first
// command and closed as soon as the host has no command left in the run, because its last stage
// ended or it dropped out. A rollout's finished waves then hold no ssh master while later waves
// run (CORE-007, "Multiplexing"), so a run's open connections follow its waves, not its fleet.
import { type CommandStatus, isTerminalCommand } from '../domain/status.js';
import type { Registry } from '../registry/types.js';
import type { Transport, TransportFactory } from './types.js';

export interface HostTransports {
  /** The host's transport, opened if it is not. */
  of(hostId: string): Transport;
  /** One of the host's commands reached a terminal status; the last one closes its transport. */
  ended(hostId: string): void;
  /** Closes what is still open and waits for every close, the earlier ones included. */
  closeAll(): Promise<void>;
}

export function createHostTransports(
  factory: TransportFactory,
  registry: Registry,
  commands: readonly { readonly hostId: string; readonly status: CommandStatus }[],
): HostTransports {
  const open = new Map<string, Transport>();
  /** Per host, its commands that have not ended yet. */
  const left = new Map<string, number>();
  for (const c of commands) {
    if (!isTerminalCommand(c.status)) left.set(c.hostId, (left.get(c.hostId) ?? 0) + 1);
  }
  const closing: Promise<void>[] = [];
  const close = (transport: Transport) => {
    // A close that fails (a master already gone) leaves nothing to do.
    closing.push(transport.close().catch(() => {}));
  };
  return {
    of(hostId) {
      let transport = open.get(hostId);
      if (!transport) {
        transport = factory(registry.hosts.get(hostId), registry);
        open.set(hostId, transport);
      }
      return transport;
    },
    ended(hostId) {
      const remaining = (left.get(hostId) ?? 0) - 1;
      left.set(hostId, remaining);
      const transport = open.get(hostId);
      if (remaining > 0 || !transport) return;
      open.delete(hostId);
      close(transport);
    },
    async closeAll() {
      for (const transport of open.values()) close(transport);
      open.clear();
      await Promise.all(closing);
    },
  };
}
