// `nixfleet apply [TARGET] [--on SEL]`: runs a pipeline or a single op across the selected hosts
// (CONTRACT.md §2, see CORE-002). Exit 0 COMPLETE, 1 PARTIAL/FAILED, 3 BLOCKED, 130 CANCELLED.
import { buildPlan } from '../../engine/plan.js';
import { UserError } from '../../errors/user-error.js';
import type { Registry } from '../../registry/types.js';
import { openJournal } from '../../store/journal.js';
import type { Journal } from '../../store/types.js';
import { runAttended } from '../../ui/attended-run.js';
import { RENDERER_NAMES, type RendererName } from '../../ui/run-renderer.js';
import type { CommandContext } from '../command.js';
import { loadFleet } from '../load-fleet.js';

export const usage = 'apply [TARGET] [--on SEL] [--concurrency N] [--renderer auto|tty|plain|json] [--junit FILE]';
export const options = {
  on: { type: 'string' },
  concurrency: { type: 'string' },
  renderer: { type: 'string' },
  junit: { type: 'string' },
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const runOptions = parseRunOptions(ctx);
  const registry = await loadFleet(ctx);
  const on = ctx.values.on;
  const plan = buildPlan(registry, ctx.positionals[0], typeof on === 'string' ? on : undefined);
  const journal = openFleetJournal(registry);
  try {
    return await runAttended(plan, { journal, ...ioOf(ctx), ...runOptions });
  } finally {
    journal.close();
  }
}

export interface RunFlags {
  readonly renderer: RendererName;
  readonly concurrency?: number;
  readonly junitFile?: string;
}

/** --concurrency, --renderer and --junit, checked before anything is loaded (exit 2). */
export function parseRunOptions(ctx: CommandContext): RunFlags {
  const { concurrency, renderer, junit } = ctx.values;
  let parsedConcurrency: number | undefined;
  if (typeof concurrency === 'string') {
    parsedConcurrency = Number(concurrency);
    if (!/^[0-9]+$/.test(concurrency) || parsedConcurrency < 1) {
      throw new UserError(`--concurrency must be a whole number of at least 1, got \`${concurrency}\``, {
        hint: 'e.g. `--concurrency 20`',
      });
    }
  }
  const rendererName = typeof renderer === 'string' ? renderer : 'auto';
  if (!RENDERER_NAMES.includes(rendererName as RendererName)) {
    throw new UserError(`unknown renderer \`${rendererName}\``, { hint: `use one of ${RENDERER_NAMES.join(', ')}` });
  }
  if (junit === '') throw new UserError('--junit needs a file name', { hint: 'e.g. `--junit report.xml`' });
  return {
    renderer: rendererName as RendererName,
    ...(parsedConcurrency !== undefined ? { concurrency: parsedConcurrency } : {}),
    ...(typeof junit === 'string' ? { junitFile: junit } : {}),
  };
}

/** The journal of the fleet's data directory, with the registry's hosts recorded and retention applied. */
export function openFleetJournal(registry: Registry): Journal {
  const journal = openJournal(registry.settings.dataDir);
  try {
    journal.syncHosts(
      [...registry.hosts.values()].map((h) => ({
        id: h.id,
        hostname: h.address,
        transport: h.transport,
        tags: h.tags,
      })),
    );
    journal.pruneIfDue();
  } catch (error) {
    journal.close();
    throw error;
  }
  return journal;
}

export function ioOf(ctx: CommandContext) {
  return { stdout: ctx.io.stdout, stderr: ctx.io.stderr, env: ctx.io.env, cwd: ctx.io.cwd, json: ctx.global.json };
}
