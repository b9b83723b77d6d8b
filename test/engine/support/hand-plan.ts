// Hand-built registries and plans for engine tests: no fleet file, no templating, so a test states
// exactly which shell line each host runs.
import type { Plan, PlannedStage } from '../../../src/engine/types.js';
import type { Host, Op, Registry } from '../../../src/registry/types.js';
import { CONTROLLER_HOST_ID } from '../../../src/registry/types.js';

const source = { file: 'fleet.yaml', line: 1, column: 1 };

export interface HandOp {
  readonly id: string;
  /** Per host id (or CONTROLLER_HOST_ID), the shell line to run; a string runs the same everywhere. */
  readonly run: string | ((hostId: string) => string);
  readonly precheck?: string | ((hostId: string) => string);
  readonly postcheck?: string | ((hostId: string) => string);
  readonly timeoutMs?: number;
  readonly retryable?: boolean;
  readonly retries?: number;
  readonly runsOn?: 'host' | 'controller';
  readonly cwd?: string;
  readonly env?: Record<string, string>;
}

export function handRegistry(rootDir: string, hosts: readonly string[], ops: readonly HandOp[]): Registry {
  const hostMap = new Map<string, Host>(
    hosts.map((id) => [id, { id, transport: 'local', address: id, tags: [], vars: {}, source }]),
  );
  const opMap = new Map<string, Op>(
    ops.map((op) => [
      op.id,
      {
        id: op.id,
        run: typeof op.run === 'string' ? op.run : '',
        timeoutMs: op.timeoutMs ?? 10_000,
        retryable: op.retryable ?? false,
        retries: op.retries ?? 0,
        runsOn: op.runsOn ?? 'host',
        env: op.env ?? {},
        source,
      },
    ]),
  );
  return {
    file: `${rootDir}/fleet.yaml`,
    rootDir,
    files: [`${rootDir}/fleet.yaml`],
    includeGlobs: [],
    hash: 'hand-built',
    settings: {
      concurrency: 10,
      dataDir: `${rootDir}/.nixfleet`,
      shell: '/bin/sh',
      ssh: { strictHostKeyChecking: 'accept-new', connectTimeoutMs: 10_000, multiplex: true },
    },
    hosts: hostMap,
    ops: opMap,
    pipelines: new Map([['p', { id: 'p', ops: ops.map((o) => o.id), source }]]),
    secrets: new Map(),
  };
}

const pick = (value: string | ((hostId: string) => string) | undefined, hostId: string) =>
  typeof value === 'function' ? value(hostId) : value;

/** A pipeline `p` of `ops` over `hosts`, in order. */
export function handPlan(rootDir: string, hosts: readonly string[], ops: readonly HandOp[]): Plan {
  const registry = handRegistry(rootDir, hosts, ops);
  const stages: PlannedStage[] = ops.map((op, index) => {
    const targets = op.runsOn === 'controller' ? [CONTROLLER_HOST_ID] : hosts;
    return {
      index,
      op: registry.ops.get(op.id)!,
      commands: targets.map((hostId) => {
        const precheck = pick(op.precheck, hostId);
        const postcheck = pick(op.postcheck, hostId);
        return {
          hostId,
          rendered: {
            run: pick(op.run, hostId)!,
            ...(precheck !== undefined ? { precheck } : {}),
            ...(postcheck !== undefined ? { postcheck } : {}),
            ...(op.cwd !== undefined ? { cwd: op.cwd } : {}),
            env: { ...op.env, NIXFLEET_HOST: hostId, NIXFLEET_OP: op.id, NIXFLEET_PIPELINE: 'p' },
          },
        };
      }),
    };
  });
  return { target: 'p', targetKind: 'pipeline', selector: hosts.join(','), hosts, stages, registry };
}
