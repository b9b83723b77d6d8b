// `--batch`, `--canary`, `--max-failures` (see CORE-008): each overrides the pipeline's own
// `rollout:` setting for this run; checked before anything is loaded (exit 2).
import { CANARY_PERCENT, parseHostAmount } from '../config/host-amount.js';
import type { RolloutOverrides } from '../engine/rollout/rollout-plan.js';
import { UserError } from '../errors/user-error.js';
import type { CommandContext } from './command.js';

export const ROLLOUT_OPTIONS = {
  batch: {
    type: 'string',
    valueName: 'N|N%',
    description: 'run in batches of N hosts (or N%), each through every stage',
  },
  canary: {
    type: 'string',
    valueName: 'SEL|N',
    description: 'these hosts (a selector) or the first N go first, alone',
  },
  'max-failures': {
    type: 'string',
    valueName: 'N|N%',
    description: 'stop starting hosts once more than N (or N%) failed; 0: fail fast',
  },
} as const;

export function parseRolloutFlags(ctx: CommandContext): RolloutOverrides {
  const { batch, canary } = ctx.values;
  const maxFailures = ctx.values['max-failures'];
  const amount = (flag: string, value: unknown, least: number) => {
    const parsed = parseHostAmount(value);
    const size = parsed && ('count' in parsed ? parsed.count : parsed.percent);
    if (parsed === undefined || size === undefined || size < least || ('percent' in parsed && parsed.percent > 100)) {
      throw new UserError(
        `${flag} must be a whole number of at least ${least} or a percentage from ${least}% to 100%, got \`${value}\``,
        {
          hint: `e.g. \`${flag} ${least === 0 ? '2' : '3'}\` or \`${flag} 25%\``,
        },
      );
    }
    return parsed;
  };
  if (typeof canary === 'string' && CANARY_PERCENT.test(canary)) {
    throw new UserError(`--canary is a number of hosts or a selector, not a percentage, got \`${canary}\``, {
      hint: 'e.g. `--canary 1` or `--canary web1`; percentages are for batches, e.g. `--batch 25%`',
    });
  }
  if (canary === '' || (typeof canary === 'string' && /^0+$/.test(canary))) {
    throw new UserError(`--canary needs hosts or a number of at least 1, got \`${canary}\``, {
      hint: 'e.g. `--canary 1` or `--canary web1`; leave it out for no canary',
    });
  }
  return {
    ...(typeof batch === 'string' ? { batch: amount('--batch', batch, 1) } : {}),
    ...(typeof maxFailures === 'string' ? { maxFailures: amount('--max-failures', maxFailures, 0) } : {}),
    ...(typeof canary === 'string'
      ? { canary: /^[0-9]+$/.test(canary) ? { count: Number(canary) } : { selector: canary } }
      : {}),
  };
}
