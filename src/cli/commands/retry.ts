// `nixfleet retry RUN_ID [--force]`: for each host that did not complete, runs the pipeline again
// from the stage where it stopped, with the current fleet file (see CORE-002, retry). An op that
// already ran and failed is run again only when it is marked `retryable`, unless --force. The
// rollout flags plan its hosts afresh instead of keeping the run's waves (CORE-008, retry).
import { recentRunsHint } from '../../domain/nixfleet-command.js';
import { prepareRetry, retryRefusal } from '../../engine/retry-request.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { runAttended } from '../../ui/attended-run.js';
import type { CommandContext } from '../command.js';
import { loadFleet, storeFor } from '../load-fleet.js';
import { parseRolloutFlags, ROLLOUT_OPTIONS } from '../rollout-flags.js';
import { checkRunFlagsAgainst, parseNoRollback, parseRunOptions, RUN_OPTIONS } from '../run-flags.js';
import { ioOf, openFleetJournal } from './apply.js';

export const usage =
  'retry RUN_ID [--force] [--concurrency N] [--batch N|N%] [--canary SEL|N] [--max-failures N|N%] [--renderer auto|tty|plain|json] [--junit FILE] [--no-rollback]';
export const options = {
  force: { type: 'boolean', default: false, description: 'also rerun failed ops that are not retryable' },
  ...RUN_OPTIONS,
  ...ROLLOUT_OPTIONS,
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const runId = ctx.positionals[0];
  if (runId === undefined) throw new UserError('retry needs a run id', { hint: recentRunsHint(ctx.global) });
  const flags = parseRunOptions(ctx);
  const rollout = parseRolloutFlags(ctx);
  const registry = await loadFleet(ctx);
  const runOptions = checkRunFlagsAgainst(flags, registry, ctx);
  const journal = openFleetJournal(registry, storeFor(ctx, registry));
  try {
    const retry = prepareRetry(registry, journal, runId, {
      force: ctx.values.force === true,
      rollout,
      flags: ctx.global,
      ...parseNoRollback(ctx),
    });
    if (retry.kind === 'nothing') {
      // CORE-002: with --json (or --renderer json, whose reader waits for the run's report there)
      // stdout still holds one document, saying that no run was started.
      ctx.io.stderr.write(`${retry.message}\n`);
      if (ctx.global.json || flags.renderer === 'json') {
        ctx.io.stdout.write(
          `${JSON.stringify({ runId: null, retryOf: runId, nothingToRetry: true, message: retry.message })}\n`,
        );
      }
      return EXIT.OK;
    }
    const { plan, fromStage } = retry;
    return await runAttended(plan, {
      journal,
      ...ioOf(ctx),
      ...runOptions,
      retryOf: runId,
      firstRetry: ctx.values.force !== true,
      fromStage,
    }).catch((error: unknown) => {
      throw retryRefusal(error);
    });
  } finally {
    journal.close();
  }
}
