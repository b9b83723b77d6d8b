// The part of a registry the journal and the dashboard keep: ids and descriptions, no templates,
// host vars or positions (see CORE-005 and CORE-004).
import type { Registry, RegistrySummary } from './types.js';

export function summarizeRegistry(registry: Registry): RegistrySummary {
  return {
    file: registry.file,
    hash: registry.hash,
    hosts: [...registry.hosts.values()].map((host) => ({
      id: host.id,
      transport: host.transport,
      address: host.address,
      tags: host.tags,
    })),
    ops: [...registry.ops.values()].map((op) => ({
      id: op.id,
      ...(op.description !== undefined ? { description: op.description } : {}),
      runsOn: op.runsOn,
      retryable: op.retryable,
    })),
    pipelines: [...registry.pipelines.values()].map((pipeline) => ({
      id: pipeline.id,
      ...(pipeline.description !== undefined ? { description: pipeline.description } : {}),
      ops: pipeline.ops,
      ...(pipeline.hosts !== undefined ? { hosts: pipeline.hosts } : {}),
    })),
    ...(registry.settings.defaultPipeline !== undefined ? { defaultPipeline: registry.settings.defaultPipeline } : {}),
  };
}

/** The hosts as the journal's `hosts` table records them (Journal.syncHosts). */
export function declaredHosts(registry: Registry) {
  return [...registry.hosts.values()].map((host) => ({
    id: host.id,
    hostname: host.address,
    transport: host.transport,
    tags: host.tags,
  }));
}
