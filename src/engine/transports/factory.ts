// Picks the transport for a host (see CORE-001): local for `transport: local` and for
// `runsOn: controller` ops (host undefined). The ssh transport plugs in here as one more case.
import type { Host, Registry } from '../../registry/types.js';
import type { Transport, TransportFactory } from '../types.js';
import { createLocalTransport } from './local.js';

export function createTransportFactory(_options: { controlDir: string }): TransportFactory {
  return (host: Host | undefined, registry: Registry): Transport => {
    const kind = host?.transport ?? 'local';
    switch (kind) {
      case 'local':
        return createLocalTransport({ shell: registry.settings.shell, cwd: registry.rootDir });
      default:
        throw new Error(`no transport for host ${host?.id} (${kind})`);
    }
  };
}
