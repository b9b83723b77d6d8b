// Picks the transport for a host (see CORE-001): local for `transport: local` and for
// `runsOn: controller` ops (host undefined). The ssh transport plugs in here as one more case.
import type { Host, Registry } from '../../registry/types.js';
import type { Transport, TransportFactory } from '../types.js';
import { createLocalTransport } from './local.js';
import { createSshTransport } from './ssh.js';

export function createTransportFactory(options: { controlDir: string }): TransportFactory {
  return (host: Host | undefined, registry: Registry): Transport => {
    const kind = host?.transport ?? 'local';
    switch (kind) {
      case 'local':
        return createLocalTransport({ shell: registry.settings.shell, cwd: registry.rootDir });
      case 'ssh': {
        // CORE-007: NIXFLEET_SSH_CONFIG names an ssh_config used instead of ~/.ssh/config.
        const configFile = process.env.NIXFLEET_SSH_CONFIG || undefined;
        return createSshTransport(host!, registry.settings, { controlDir: options.controlDir, configFile });
      }
      default:
        throw new Error(`no transport for host ${host?.id} (${kind})`);
    }
  };
}
