// Drives one run for a person or a CI job (`apply`, `retry`): picks the renderer, wires Ctrl-C to
// cancel (once: let running commands finish; twice: kill them), writes the reports, and turns the
// outcome into the exit code of CORE-002.
import { appendFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type StartedRun, startRun } from '../engine/run.js';
import type { Plan, RunEvent } from '../engine/types.js';
import { EXIT, UserError } from '../errors/user-error.js';
import { HostsBusyError } from '../store/hosts-busy-error.js';
import type { Journal } from '../store/types.js';
import { jobSummaryMarkdown } from './job-summary.js';
import { jsonReport } from './json-report.js';
import { junitXml } from './junit-report.js';
import { createPlainRenderer } from './plain-renderer.js';
import { type RendererName, type RunRenderer, resolveRenderer } from './run-renderer.js';
import { applyRunEvent, createRunView } from './run-view.js';
import { createTtyRenderer } from './tty-renderer.js';

export interface AttendedRunOptions {
  readonly journal: Journal;
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean; rows?: number; columns?: number };
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly renderer: RendererName;
  /** The global --json flag. */
  readonly json: boolean;
  readonly junitFile?: string;
  readonly concurrency?: number;
  readonly retryOf?: string;
  readonly fromStage?: ReadonlyMap<string, number>;
  /** False with --no-rollback (CORE-009). */
  readonly rollback?: false;
}

export async function runAttended(plan: Plan, options: AttendedRunOptions): Promise<number> {
  const kind = resolveRenderer(options.renderer, {
    json: options.json,
    isTTY: options.stdout.isTTY === true,
    env: options.env,
  });
  const renderer: RunRenderer | undefined =
    kind === 'tty'
      ? createTtyRenderer(options.stdout)
      : kind === 'plain'
        ? createPlainRenderer(options.stdout, { github: onGitHubActions(options.env) })
        : undefined;
  const view = createRunView();
  const onEvent = (event: RunEvent) => {
    applyRunEvent(view, event);
    renderer?.onEvent(event);
  };

  // A message while the tree is live goes above it, or the next redraw would erase it.
  const tell = (text: string) => (renderer?.log ? renderer.log(text) : options.stderr.write(`\n${text}\n`));

  // Listening before the run starts: its first command is spawned inside startRun, and a Ctrl-C
  // arriving before a listener exists would kill nixfleet with the commands still running.
  let run: StartedRun | undefined;
  let interrupts = 0;
  const onInterrupt = () => {
    interrupts++;
    // Handlers run from the event loop, so only after startRun has returned.
    if (run === undefined) return;
    if (interrupts === 1) {
      tell(
        `nixfleet: cancelling run ${run.runId}: running commands finish, pending ones are cancelled (Ctrl-C again to kill them)`,
      );
      run.cancel();
    } else {
      tell(`nixfleet: killing the running commands of run ${run.runId}`);
      run.cancel({ kill: true });
    }
  };
  // SIGTERM (a CI job cancelled, systemd stopping us) leaves no time to wait: kill the running
  // commands so none outlives us, and journal the run CANCELLED (CORE-002).
  const onTerminate = () => {
    if (run === undefined) return;
    tell(`nixfleet: terminated: killing the running commands of run ${run.runId}`);
    run.cancel({ kill: true });
  };
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  try {
    run = startRun(plan, {
      journal: options.journal,
      actor: 'cli',
      onEvent,
      // CORE-010: `env:` secrets come from the environment the command was given.
      env: options.env,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.retryOf !== undefined ? { retryOf: options.retryOf } : {}),
      ...(options.fromStage !== undefined ? { fromStage: options.fromStage } : {}),
      ...(options.rollback === false ? { rollback: false } : {}),
    });
  } catch (error) {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    if (!(error instanceof HostsBusyError)) throw error;
    const holders = [...new Set(error.busy.map((b) => b.runId))];
    throw new UserError(`${error.message}; nothing was started`, {
      exitCode: EXIT.BLOCKED,
      hint: `wait for ${holders.map((r) => `run ${r}`).join(', ')} to finish, or \`nixfleet cancel ${holders[0]}\``,
    });
  }

  try {
    const outcome = await run.done;
    await renderer?.finish();
    if (options.junitFile !== undefined) writeFileSync(resolve(options.cwd, options.junitFile), junitXml(view));
    const summaryFile = options.env.GITHUB_STEP_SUMMARY;
    if (onGitHubActions(options.env) && summaryFile) appendFileSync(summaryFile, jobSummaryMarkdown(view));
    if (kind === 'json') options.stdout.write(`${JSON.stringify(jsonReport(view), null, 2)}\n`);
    // CORE-009: a rollback that did not succeed is said on stderr too, whatever the renderer.
    for (const c of view.commands.values()) {
      if (c.rollbackOf === null || c.status === 'SUCCESS') continue;
      options.stderr.write(
        `nixfleet: rollback ${c.commandId} of ${c.op} on ${c.hostId} ${c.status}: ${c.error ?? 'did not finish'}; ${c.hostId} needs a person (\`nixfleet logs ${c.commandId}\`)\n`,
      );
    }
    return outcome.exitCode;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
  }
}

function onGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true';
}
