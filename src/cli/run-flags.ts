// The flags every command that starts runs shares (`apply`, `retry`, `watch --run`), checked
// before anything is loaded so a typo costs nothing (exit 2).
import { UserError } from '../errors/user-error.js';
import type { Registry } from '../registry/types.js';
import { RENDERER_NAMES, type RendererName } from '../ui/run-renderer.js';
import type { CommandContext } from './command.js';
import { checkReportNotFleetFile, checkReportPath } from './report-path.js';

/** --no-rollback (CORE-009): of the runs, and of `plan`, which then plans such a run. */
export const NO_ROLLBACK_OPTION = {
  'no-rollback': { type: 'boolean', description: 'do not run rollbacks of failed ops, arm no rollback timer' },
} as const;

/** `{rollback: false}` when --no-rollback was given, else nothing (CORE-009). */
export function parseNoRollback(ctx: CommandContext): { readonly rollback?: false } {
  return ctx.values['no-rollback'] === true ? { rollback: false } : {};
}

export const RUN_OPTIONS = {
  concurrency: {
    type: 'string',
    valueName: 'N',
    description: 'most hosts running a stage at once (default settings.concurrency)',
  },
  renderer: {
    type: 'string',
    valueName: 'auto|tty|plain|json',
    description: 'output: the live view in a terminal, plain lines in CI (default auto)',
  },
  junit: { type: 'string', valueName: 'FILE', description: 'also write a JUnit XML report to FILE' },
  ...NO_ROLLBACK_OPTION,
} as const;

/** --concurrency N: a whole number of at least 1, or undefined when not given. */
export function parseConcurrency(value: unknown): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  if (!/^[0-9]+$/.test(value) || !Number.isSafeInteger(n) || n < 1) {
    throw new UserError(`--concurrency must be a whole number of at least 1, got \`${value}\``, {
      hint: 'e.g. `--concurrency 20`',
    });
  }
  return n;
}

export interface RunFlags {
  readonly renderer: RendererName;
  readonly concurrency?: number;
  readonly junitFile?: string;
  /** False with --no-rollback (CORE-009). */
  readonly rollback?: false;
}

/** --concurrency, --renderer and --junit, checked before anything is loaded (exit 2). */
export function parseRunOptions(ctx: CommandContext): RunFlags {
  const { renderer, junit } = ctx.values;
  const parsedConcurrency = parseConcurrency(ctx.values.concurrency);
  const rendererName = typeof renderer === 'string' ? renderer : 'auto';
  if (!RENDERER_NAMES.includes(rendererName as RendererName)) {
    throw new UserError(`unknown renderer \`${rendererName}\``, { hint: `use one of ${RENDERER_NAMES.join(', ')}` });
  }
  // --json promises nothing but the report on stdout (CORE-002).
  if (ctx.global.json && rendererName !== 'auto' && rendererName !== 'json') {
    throw new UserError(`--json prints the JSON report on stdout, so it cannot go with --renderer ${rendererName}`, {
      hint: '--json alone gives the report; drop it to see the run drawn',
    });
  }
  if (junit === '') throw new UserError('--junit needs a file name', { hint: 'e.g. `--junit report.xml`' });
  if (typeof junit === 'string') checkReportPath('--junit', junit, ctx.io.cwd);
  return {
    renderer: rendererName as RendererName,
    ...(parsedConcurrency !== undefined ? { concurrency: parsedConcurrency } : {}),
    ...(typeof junit === 'string' ? { junitFile: junit } : {}),
    ...parseNoRollback(ctx),
  };
}

/**
 * What only the loaded fleet can tell: --junit must not name one of its files (exit 2). The flags
 * to run with, the report as the path it is written to.
 */
export function checkRunFlagsAgainst(flags: RunFlags, registry: Registry, ctx: CommandContext): RunFlags {
  if (flags.junitFile === undefined) return flags;
  return { ...flags, junitFile: checkReportNotFleetFile('--junit', flags.junitFile, ctx.io.cwd, registry) };
}
