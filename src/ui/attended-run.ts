// Drives one run for a person or a CI job (`apply`, `retry`): picks the renderer, wires Ctrl-C to
// cancel (once: let running commands finish; twice: kill them), writes the reports, and turns the
// outcome into the exit code of CORE-002.
import {
  appendFileSync,
  closeSync,
  constants,
  openSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../config/duration.js';
import { leaveHungUpTerminalAtExit } from '../domain/hung-up-terminal.js';
import { type GlobalFlags, nixfleetCommand } from '../domain/nixfleet-command.js';
import type { OutputStream } from '../domain/output-stream.js';
import { canaryCapText } from '../engine/rollout/rollout-plan.js';
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
  readonly stdout: OutputStream;
  readonly stderr: NodeJS.WritableStream;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly renderer: RendererName;
  /** The global --json flag. */
  readonly json: boolean;
  readonly junitFile?: string;
  readonly concurrency?: number;
  readonly retryOf?: string;
  /** As the first retry of `retryOf` only (`retry` without --force; CORE-002, retry). */
  readonly firstRetry?: boolean;
  readonly fromStage?: ReadonlyMap<string, number>;
  /** False with --no-rollback (CORE-009). */
  readonly rollback?: false;
  /** The global flags the commands in hints repeat (CORE-002, hints). */
  readonly flags?: GlobalFlags;
}

/**
 * A named pipe's reader that takes none of a report for this long is given up on (CORE-002,
 * report files): it opened the pipe, so the report's start is in the pipe, but it stopped reading.
 */
export const PIPE_STALL_MS = 10_000;
/** How often a full pipe is tried again. */
const PIPE_RETRY_MS = 10;

export async function runAttended(plan: Plan, options: AttendedRunOptions): Promise<number> {
  const kind = resolveRenderer(options.renderer, {
    json: options.json,
    isTTY: options.stdout.isTTY === true,
    env: options.env,
  });
  const renderer: RunRenderer | undefined =
    kind === 'tty'
      ? createTtyRenderer(options.stdout, options.flags)
      : kind === 'plain'
        ? createPlainRenderer(options.stdout, {
            github: onGitHubActions(options.env),
            ...(options.flags ? { flags: options.flags } : {}),
          })
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
  // A signal while startRun still reads the run's secrets (CORE-010) is carried out once it returns.
  let terminatedBy: NodeJS.Signals | undefined;
  // ... and stops the reading at once: a secret command may wait a minute for a vault (CORE-010).
  const secretsAbort = new AbortController();
  // Once the run ended, a signal gives up the reports still being written to a named pipe's
  // reader that is slow to take them (CORE-002, report files); the run is journaled already.
  const reportsAbort = new AbortController();
  let reporting = false;
  const cancelling = (runId: string) =>
    tell(
      `nixfleet: cancelling run ${runId}: running commands finish, pending ones are cancelled (Ctrl-C again to kill them)`,
    );
  const onInterrupt = () => {
    if (reporting) {
      reportsAbort.abort();
      return;
    }
    interrupts++;
    if (run === undefined) {
      secretsAbort.abort();
      return;
    }
    if (interrupts === 1) {
      cancelling(run.runId);
      run.cancel();
    } else {
      tell(`nixfleet: killing the running commands of run ${run.runId}`);
      run.cancel({ kill: true });
    }
  };
  // SIGTERM (a CI job cancelled, systemd stopping us) and SIGHUP (the terminal closed) leave no
  // time to wait: kill the running commands so none outlives us, and journal the run CANCELLED
  // (CORE-002, CORE-011).
  const killing = (signal: NodeJS.Signals, runId: string) => {
    const why = signal === 'SIGHUP' ? 'the terminal closed' : 'terminated';
    try {
      tell(`nixfleet: ${why}: killing the running commands of run ${runId}`);
    } catch {
      // A hung-up terminal may refuse the write; the kill matters, not the message.
    }
  };
  const onTerminate = (signal: NodeJS.Signals) => {
    if (signal === 'SIGHUP') leaveHungUpTerminalAtExit();
    if (reporting) {
      reportsAbort.abort();
      return;
    }
    if (run === undefined) {
      terminatedBy = signal;
      secretsAbort.abort();
      return;
    }
    killing(signal, run.runId);
    run.cancel({ kill: true });
  };
  // CORE-008: a canary count cut so some host waits for it is said once, on stderr, whatever the
  // renderer (stdout may be the --json report).
  const capped = plan.rollout ? canaryCapText(plan.rollout) : null;
  if (capped !== null) options.stderr.write(`nixfleet: ${capped}\n`);
  process.on('SIGINT', onInterrupt);
  process.on('SIGTERM', onTerminate);
  process.on('SIGHUP', onTerminate);
  try {
    run = await startRun(plan, {
      journal: options.journal,
      actor: 'cli',
      onEvent,
      // CORE-010: `env:` secrets come from the environment the command was given.
      env: options.env,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      ...(options.retryOf !== undefined ? { retryOf: options.retryOf } : {}),
      ...(options.firstRetry === true ? { firstRetry: true } : {}),
      ...(options.fromStage !== undefined ? { fromStage: options.fromStage } : {}),
      ...(options.rollback === false ? { rollback: false } : {}),
      // A signal while the secrets were read (CORE-010): the run starts cancelled, nothing runs.
      secretsAbort: secretsAbort.signal,
      cancelBeforeStart: (runId) => {
        if (terminatedBy !== undefined) {
          killing(terminatedBy, runId);
          return { kill: true };
        }
        if (interrupts === 0) return undefined;
        cancelling(runId);
        return {};
      },
    });
  } catch (error) {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    process.off('SIGHUP', onTerminate);
    if (!(error instanceof HostsBusyError)) throw error;
    const holders = [...new Set(error.busy.map((b) => b.runId))];
    throw new UserError(`${error.message}; nothing was started`, {
      exitCode: EXIT.BLOCKED,
      hint: `wait for ${holders.map((r) => `run ${r}`).join(', ')} to finish, or \`${nixfleetCommand(`cancel ${holders[0]}`, options.flags)}\``,
    });
  }

  try {
    const outcome = await run.done.catch(async (error: unknown) => {
      await renderer?.finish();
      // CORE-002: the journal failed mid-run; the engine killed every running command first.
      options.stderr.write(`nixfleet: run ${run?.runId} stopped and its running commands were killed\n`);
      throw error;
    });
    await renderer?.finish();
    // The run's own outcome is printed first: a report that cannot be written must not hide it.
    if (kind === 'json') options.stdout.write(`${JSON.stringify(jsonReport(view), null, 2)}\n`);
    // CORE-009: a rollback that did not succeed is said on stderr too, whatever the renderer.
    for (const c of view.commands.values()) {
      if (c.rollbackOf === null || c.status === 'SUCCESS') continue;
      options.stderr.write(
        `nixfleet: rollback ${c.commandId} of ${c.op} on ${c.hostId} ${c.status}: ${c.error ?? 'did not finish'}; ${c.hostId} needs a person (\`${nixfleetCommand(`logs ${c.commandId}`, options.flags)}\`)\n`,
      );
    }
    // CORE-009: a killed op leaves its timer armed; the host undoes the change when it fires.
    for (const c of view.commands.values()) {
      if (c.status !== 'CANCELLED' || c.armed?.state !== 'unknown') continue;
      options.stderr.write(
        `nixfleet: ${c.op} on ${c.hostId} was killed while its rollback was armed (${formatDuration(c.armed.delayMs)}); nothing confirmed the change, so ${c.hostId} rolls it back when the timer fires, unless a run from this journal runs ${c.op} there first\n`,
      );
    }
    reporting = true;
    const summaryFile = options.env.GITHUB_STEP_SUMMARY;
    if (onGitHubActions(options.env) && summaryFile) {
      await writeJobSummary(options, summaryFile, jobSummaryMarkdown(view, options.flags), reportsAbort.signal);
    }
    if (options.junitFile !== undefined && !(await writeReport(options, junitXml(view), reportsAbort.signal))) {
      return outcome.exitCode === EXIT.OK ? EXIT.FAILED : outcome.exitCode;
    }
    return outcome.exitCode;
  } finally {
    process.off('SIGINT', onInterrupt);
    process.off('SIGTERM', onTerminate);
    process.off('SIGHUP', onTerminate);
  }
}

/** Writes the JUnit report; false (with the reason on stderr) when it cannot be written. */
async function writeReport(options: AttendedRunOptions, xml: string, signal: AbortSignal): Promise<boolean> {
  const path = resolve(options.cwd, options.junitFile!);
  try {
    await writeReportFile(path, xml, signal);
    return true;
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    options.stderr.write(`nixfleet: the JUnit report was not written to ${path}: ${reason}\n`);
    return false;
  }
}

/**
 * Writes `text` to a new file beside `path` and renames it over `path`: a symbolic or hard link
 * put there during the run is replaced, never written through (`path` is where the report goes,
 * the links there before the run already followed and checked: src/cli/report-path.ts, see
 * CORE-002, report files). A device or a pipe (`/dev/stdout`) is written as it is.
 */
async function writeReportFile(path: string, text: string, signal: AbortSignal): Promise<void> {
  const there = statSync(path, { throwIfNoEntry: false });
  if (there?.isFIFO()) {
    await writeToNamedPipe(path, text, signal);
    return;
  }
  if (there !== undefined && !there.isFile()) {
    writeFileSync(path, text);
    return;
  }
  const temporary = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  try {
    writeFileSync(temporary, text, { flag: 'wx' });
    renameSync(temporary, path);
  } catch (error) {
    // EEXIST: the name was someone else's, and is left to them.
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') rmSync(temporary, { force: true });
    throw error;
  }
}

/**
 * A named pipe is written as it is, to the process reading it (a report, a job summary). With
 * none, opening it to write waits for one, in a call that holds nixfleet's only thread: no signal
 * could end that wait, only SIGKILL (CORE-002, report files). So it is opened without waiting
 * (O_NONBLOCK): a pipe nobody reads fails at once (ENXIO). It is written through that same
 * descriptor, which never waits either: a full pipe (EAGAIN) is tried again every PIPE_RETRY_MS
 * while the event loop runs, and given up once its reader took nothing for PIPE_STALL_MS, or at
 * a signal. A blocking write to a reader that opened the pipe and stopped reading held nixfleet
 * forever once the pipe was full, as the open did.
 */
async function writeToNamedPipe(path: string, text: string, signal: AbortSignal): Promise<void> {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') throw new Error('no process reads this named pipe');
    throw error;
  }
  try {
    const bytes = Buffer.from(text);
    let written = 0;
    let tookLast = Date.now();
    const partly = () => `${written} of ${bytes.length} bytes written`;
    while (written < bytes.length) {
      if (signal.aborted) throw new Error(`stopped by a signal while its reader was slow (${partly()})`);
      let n = 0;
      try {
        n = writeSync(fd, bytes, written);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EAGAIN') throw error;
      }
      if (n > 0) {
        written += n;
        tookLast = Date.now();
        continue;
      }
      if (Date.now() - tookLast >= PIPE_STALL_MS) {
        throw new Error(
          `the process reading this named pipe took nothing for ${formatDuration(PIPE_STALL_MS)} (${partly()})`,
        );
      }
      await sleep(PIPE_RETRY_MS);
    }
  } finally {
    closeSync(fd);
  }
}

/** Appends the run to the GitHub job summary; a summary that cannot be written is said, not thrown. */
async function writeJobSummary(
  options: AttendedRunOptions,
  path: string,
  markdown: string,
  signal: AbortSignal,
): Promise<void> {
  try {
    // A named pipe would hold nixfleet in open(2) until a reader comes, as a report would.
    const stats = statSync(path, { throwIfNoEntry: false });
    if (stats?.isFIFO()) await writeToNamedPipe(path, markdown, signal);
    // After what an earlier step left without its last newline, the heading would join its line.
    else appendFileSync(path, stats?.isFile() && !endsWithNewline(path, stats.size) ? `\n${markdown}` : markdown);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    options.stderr.write(`nixfleet: the job summary was not written to ${path}: ${reason}\n`);
  }
}

/** Whether the file of `size` bytes at `path` is empty or ends with a line feed. */
function endsWithNewline(path: string, size: number): boolean {
  if (size === 0) return true;
  const fd = openSync(path, 'r');
  try {
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

function onGitHubActions(env: NodeJS.ProcessEnv): boolean {
  return env.GITHUB_ACTIONS === 'true';
}
