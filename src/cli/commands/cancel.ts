// `nixfleet cancel RUN_ID [--kill]`: asks a running pipeline, owned by any process sharing the data
// directory, to cancel (see CORE-002): its running commands finish, pending ones are cancelled.
// With --kill the owning process kills the running commands too (see CORE-011).
import { nixfleetCommand } from '../../domain/nixfleet-command.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import type { CommandContext } from '../command.js';
import { openExistingJournal } from '../existing-journal.js';

export const usage = 'cancel RUN_ID [--kill]';
export const options = {
  kill: { type: 'boolean', description: 'kill the running commands too instead of letting them finish' },
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const runId = ctx.positionals[0];
  if (runId === undefined) throw new UserError('cancel needs a run id', { hint: runningRunsHint(ctx) });
  // Cancelling needs only the journal: a broken logs/ must not keep a run from being stopped.
  const journal = await openExistingJournal(ctx, { noOutputs: true });
  try {
    const existing = journal.getRun(runId);
    if (!existing) throw new UserError(`no run \`${runId}\``, { hint: runningRunsHint(ctx) });
    if (existing.status !== 'RUNNING') {
      if (ctx.global.json)
        ctx.io.stdout.write(`${JSON.stringify({ runId, status: existing.status, cancelRequested: false })}\n`);
      else ctx.io.stderr.write(`run ${runId} already ended (${existing.status}); nothing to cancel\n`);
      return EXIT.OK;
    }
    const kill = ctx.values.kill === true;
    const updated = journal.requestCancel(runId, { kill });
    journal.logEvent({
      category: 'run',
      level: 'info',
      actor: 'cli',
      action: kill ? 'kill_requested' : 'cancel_requested',
      message: kill ? `kill of run ${runId} requested` : `cancel of run ${runId} requested`,
      details: { runId, kill },
    });
    if (ctx.global.json) {
      ctx.io.stdout.write(
        `${JSON.stringify({ runId, status: updated.status, cancelRequested: true, killRequested: updated.killRequested })}\n`,
      );
    } else if (kill) {
      ctx.io.stdout.write(
        `kill requested for run ${runId} (pid ${updated.owner.pid}): running commands are killed, pending ones are cancelled\n`,
      );
    } else {
      ctx.io.stdout.write(
        `cancel requested for run ${runId} (pid ${updated.owner.pid}): running commands finish, pending ones are cancelled\n`,
      );
    }
    return EXIT.OK;
  } finally {
    journal.close();
  }
}

function runningRunsHint(ctx: CommandContext): string {
  return `see \`${nixfleetCommand('runs', ctx.global)}\` for running ones`;
}
