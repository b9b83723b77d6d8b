// `nixfleet apply [TARGET] [--on SEL]`: runs a pipeline or a single op across the selected hosts
// (see CORE-002). Exit 0 COMPLETE, 1 PARTIAL/FAILED, 3 BLOCKED, 4 a rollback failed (CORE-009),
// 130 CANCELLED.
import { buildPlan } from '../../engine/plan.js';
import { declaredHosts } from '../../registry/summary.js';
import type { Registry } from '../../registry/types.js';
import { openJournal } from '../../store/journal.js';
import type { Journal } from '../../store/types.js';
import { runAttended } from '../../ui/attended-run.js';
import type { CommandContext } from '../command.js';
import { refuseFileAsTarget } from '../fleet-file-argument.js';
import { loadFleet, storeFor } from '../load-fleet.js';
import { parseRolloutFlags, ROLLOUT_OPTIONS } from '../rollout-flags.js';
import { checkRunFlagsAgainst, parseRunOptions, RUN_OPTIONS } from '../run-flags.js';

export const usage =
  'apply [TARGET] [--on SEL] [--concurrency N] [--batch N|N%] [--canary SEL|N] [--max-failures N|N%] [--renderer auto|tty|plain|json] [--junit FILE] [--no-rollback]';
export const options = {
  on: { type: 'string', valueName: 'SEL', description: 'only these hosts: web1,db1  @tag  web*  !web3' },
  ...RUN_OPTIONS,
  ...ROLLOUT_OPTIONS,
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  refuseFileAsTarget('apply', ctx.positionals[0]);
  const flags = parseRunOptions(ctx);
  const rollout = parseRolloutFlags(ctx);
  const registry = await loadFleet(ctx);
  const runOptions = checkRunFlagsAgainst(flags, registry, ctx);
  const on = ctx.values.on;
  const plan = buildPlan(registry, ctx.positionals[0], typeof on === 'string' ? on : undefined, rollout, runOptions);
  const journal = openFleetJournal(registry, storeFor(ctx, registry));
  try {
    return await runAttended(plan, { journal, ...ioOf(ctx), ...runOptions });
  } finally {
    journal.close();
  }
}

/**
 * The fleet's journal (the data directory's SQLite, or PostgreSQL when `store` names one; see
 * CORE-012), with the registry's hosts recorded and retention applied.
 */
export function openFleetJournal(registry: Registry, store: { store?: string }): Journal {
  const journal = openJournal(registry.settings.dataDir, store);
  try {
    journal.syncHosts(declaredHosts(registry));
    journal.pruneIfDue();
  } catch (error) {
    journal.close();
    throw error;
  }
  return journal;
}

export function ioOf(ctx: CommandContext) {
  return {
    stdout: ctx.io.stdout,
    stderr: ctx.io.stderr,
    env: ctx.io.env,
    cwd: ctx.io.cwd,
    json: ctx.global.json,
    flags: ctx.global,
  };
}
