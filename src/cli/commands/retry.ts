// `nixfleet retry RUN_ID [--force]`: for each host that did not complete, runs the pipeline again
// from the stage where it stopped, with the current fleet file (see CORE-002, retry). An op that
// already ran and failed is run again only when it is marked `retryable`, unless --force.
import { buildPlan } from '../../engine/plan.js';
import { planRetry, unsafeToRerun } from '../../engine/retry-plan.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { runAttended } from '../../ui/attended-run.js';
import type { CommandContext } from '../command.js';
import { loadFleet } from '../load-fleet.js';
import { parseRunOptions, RUN_OPTIONS } from '../run-flags.js';
import { ioOf, openFleetJournal } from './apply.js';

export const usage = 'retry RUN_ID [--force] [--concurrency N] [--renderer auto|tty|plain|json] [--junit FILE]';
export const options = {
  force: { type: 'boolean', default: false, description: 'also rerun failed ops that are not retryable' },
  ...RUN_OPTIONS,
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const runId = ctx.positionals[0];
  if (runId === undefined) throw new UserError('retry needs a run id', { hint: 'see `nixfleet runs` for recent runs' });
  const runOptions = parseRunOptions(ctx);
  const registry = await loadFleet(ctx);
  const journal = openFleetJournal(registry);
  try {
    const previous = journal.getRun(runId);
    if (!previous) throw new UserError(`no run \`${runId}\``, { hint: 'see `nixfleet runs` for recent runs' });
    if (previous.status === 'RUNNING') {
      throw new UserError(`run ${runId} is still running`, { hint: `wait for it, or \`nixfleet cancel ${runId}\`` });
    }
    const retry = planRetry(previous, journal.listCommands({ runId, limit: 1_000_000 }));
    if (retry.fromStage.size === 0) {
      ctx.io.stderr.write(`run ${runId} completed on every host; nothing to retry\n`);
      return EXIT.OK;
    }
    const hosts = [...retry.fromStage.keys()];
    const gone = hosts.filter((h) => !registry.hosts.has(h));
    if (gone.length > 0) {
      throw new UserError(`host(s) of run ${runId} no longer in the fleet file: ${gone.join(', ')}`, {
        hint: `apply the pipeline again with \`nixfleet apply ${previous.name} --on ...\``,
      });
    }
    const plan = buildPlan(registry, previous.name, hosts.join(','));
    const ops = plan.stages.map((s) => s.op.id);
    if (ops.join(' ') !== previous.stages.join(' ')) {
      throw new UserError(
        `${previous.name} now runs [${ops.join(', ')}], but run ${runId} ran [${previous.stages.join(', ')}]`,
        { hint: `stages no longer line up; apply it again with \`nixfleet apply ${previous.name}\`` },
      );
    }
    const unsafe = unsafeToRerun(retry.rerun, registry);
    if (unsafe.length > 0 && ctx.values.force !== true) {
      throw new UserError(`op(s) not marked retryable would run again: ${unsafe.join(', ')}`, {
        hint: 'mark them `retryable: true` in the fleet file if running them twice is safe, or pass --force',
      });
    }
    return await runAttended(plan, {
      journal,
      ...ioOf(ctx),
      ...runOptions,
      retryOf: runId,
      fromStage: retry.fromStage,
    });
  } finally {
    journal.close();
  }
}
