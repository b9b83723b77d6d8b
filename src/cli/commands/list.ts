// `nixfleet list [hosts|ops|pipelines]`: the registry as tables, or --json.

import { formatDuration } from '../../config/duration.js';
import { didYouMean } from '../../domain/closest-name.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import type { Registry } from '../../registry/types.js';
import type { CommandContext } from '../command.js';
import { fleetFileHint, looksLikeFleetFile } from '../fleet-file-argument.js';
import { loadFleet } from '../load-fleet.js';
import { textTable } from '../text-table.js';

export const usage = 'list [hosts|ops|pipelines]';
export const options = {};
export const maxPositionals = 1;

const KINDS = ['hosts', 'ops', 'pipelines'] as const;
type Kind = (typeof KINDS)[number];

export async function run(ctx: CommandContext): Promise<number> {
  const kind = parseKind(ctx.positionals[0]);
  const registry = await loadFleet(ctx);
  const kinds = kind ? [kind] : KINDS;
  if (ctx.global.json) {
    const output = kind ? jsonFor(registry, kind) : Object.fromEntries(KINDS.map((k) => [k, jsonFor(registry, k)]));
    ctx.io.stdout.write(`${JSON.stringify(output, null, 2)}\n`);
    return EXIT.OK;
  }
  const sections = kinds.map((k) => tableFor(registry, k));
  ctx.io.stdout.write(sections.join('\n'));
  return EXIT.OK;
}

function parseKind(value: string | undefined): Kind | undefined {
  if (value === undefined) return undefined;
  if ((KINDS as readonly string[]).includes(value)) return value as Kind;
  throw new UserError(`cannot list \`${value}\``, {
    hint: looksLikeFleetFile(value)
      ? fleetFileHint('list', value)
      : (didYouMean(value, KINDS) ?? `choose one of ${KINDS.join(', ')}`),
  });
}

function jsonFor(registry: Registry, kind: Kind): unknown[] {
  switch (kind) {
    case 'hosts':
      return [...registry.hosts.values()].map(({ source: _source, ...host }) => host);
    case 'ops':
      return [...registry.ops.values()].map(({ source: _source, ...op }) => op);
    case 'pipelines':
      return [...registry.pipelines.values()].map(({ source: _source, ...pipeline }) => ({
        ...pipeline,
        isDefault: registry.settings.defaultPipeline === pipeline.id,
      }));
  }
}

function tableFor(registry: Registry, kind: Kind): string {
  switch (kind) {
    case 'hosts':
      return textTable(
        ['HOST', 'TRANSPORT', 'ADDRESS', 'TAGS'],
        [...registry.hosts.values()].map((host) => [
          host.id,
          host.transport,
          host.transport === 'ssh' ? sshTarget(host.user, host.address, host.port) : host.address,
          host.tags.map((tag) => `@${tag}`).join(' '),
        ]),
      );
    case 'ops':
      return textTable(
        ['OP', 'RUNS ON', 'TIMEOUT', 'RETRYABLE', 'DESCRIPTION'],
        [...registry.ops.values()].map((op) => [
          op.id,
          op.runsOn,
          formatDuration(op.timeoutMs),
          op.retryable ? (op.retries > 0 ? `yes (${op.retries} auto)` : 'yes') : 'no',
          op.description ?? '',
        ]),
      );
    case 'pipelines':
      return textTable(
        ['PIPELINE', 'OPS', 'HOSTS', 'DESCRIPTION'],
        [...registry.pipelines.values()].map((pipeline) => [
          registry.settings.defaultPipeline === pipeline.id ? `${pipeline.id} (default)` : pipeline.id,
          pipeline.ops.join(' → '),
          pipeline.hosts ?? '*',
          pipeline.description ?? '',
        ]),
      );
  }
}

function sshTarget(user: string | undefined, address: string, port: number | undefined): string {
  return `${user ? `${user}@` : ''}${address}${port ? `:${port}` : ''}`;
}
