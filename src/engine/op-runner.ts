// Runs one op on one host: PENDING -> VALIDATING (precheck) -> EXECUTING (run, postcheck,
// automatic retries) -> SUCCESS | ERROR | TIMEOUT, or BLOCKED / CANCELLED (see CORE-001).
// Every status change goes through the journal, which enforces the status machine.

import type { CommandStatus } from '../domain/status.js';
import type { Op } from '../registry/types.js';
import { LOGS_DIR } from '../store/journal.js';
import type { Journal, OutputSink } from '../store/types.js';
import { commandStatusEvent } from './command-status-event.js';
import { failureReason } from './failure-reason.js';
import { createOutputTail } from './output-tail.js';
import type { ExecResult, RenderedCommand, RunEventListener, Transport } from './types.js';

export interface CommandJob {
  readonly runId: string;
  readonly commandId: string;
  readonly hostId: string;
  readonly stage: number;
  readonly op: Op;
  readonly rendered: RenderedCommand;
  readonly transport: Transport;
}

export interface CommandRunContext {
  readonly journal: Journal;
  readonly actor: string;
  readonly emit: RunEventListener;
  /** Aborted by a kill (second Ctrl-C, cancel with kill): the running tree dies now. */
  readonly killSignal: AbortSignal;
  /** A plain cancel lets a running attempt finish but starts no automatic retry. */
  readonly isCancelRequested: () => boolean;
  /**
   * The journal failed outside the command's own status steps (opening its output, a progress
   * report): the run must stop (see CORE-002). Errors of the status steps are thrown instead.
   */
  readonly onJournalFailure: (error: unknown) => void;
}

interface Verdict {
  readonly status: CommandStatus;
  readonly exitCode: number | null;
  readonly error: string | null;
}

/** Runs the command to a terminal status and returns it. Never throws for a failing command. */
export async function runCommand(job: CommandJob, ctx: CommandRunContext): Promise<CommandStatus> {
  const { journal, emit } = ctx;
  const { op, commandId } = job;
  const transition = (to: CommandStatus, patch?: { exitCode?: number | null; error?: string | null }) => {
    const record = journal.transitionCommand(commandId, to, patch);
    emit(commandStatusEvent(record));
    return record.status;
  };

  // Output is opened on the first chunk: a silent command costs no file (see CORE-001).
  let sink: OutputSink | undefined;
  // Both run from stream and timer callbacks, where a throw would crash nixfleet with every
  // command still running: a journal failure there is handed to the run instead.
  const tail = createOutputTail((text) => {
    try {
      journal.reportProgress(commandId, text);
    } catch (error) {
      ctx.onJournalFailure(error);
    }
  });
  let sinkFailed = false;
  const onOutput = (chunk: string) => {
    if (sink === undefined && !sinkFailed) {
      try {
        sink = journal.openOutput(commandId);
      } catch (error) {
        sinkFailed = true;
        ctx.onJournalFailure(error);
      }
    }
    sink?.write(chunk);
    tail.append(chunk);
    emit({ type: 'command_output', runId: job.runId, commandId, hostId: job.hostId, stage: job.stage, chunk });
  };
  const env = { ...job.rendered.env, NIXFLEET_RUN_ID: job.runId, NIXFLEET_COMMAND_ID: commandId };
  const exec = (command: string): Promise<ExecResult> =>
    job.transport.exec(command, {
      env,
      ...(job.rendered.cwd !== undefined ? { cwd: job.rendered.cwd } : {}),
      timeoutMs: op.timeoutMs,
      signal: ctx.killSignal,
      onOutput,
    });
  const finish = async (verdict: Verdict) => {
    tail.stop();
    // The log file is complete before anyone can see the final status.
    const lost = await sink?.close().then(
      () => undefined,
      (error: unknown) => (error instanceof Error ? error.message : String(error)),
    );
    const final = lost === undefined ? verdict : withLostOutput(verdict, `${LOGS_DIR}/${commandId}.log`, lost);
    return transition(final.status, { exitCode: final.exitCode, error: final.error });
  };

  transition('VALIDATING');
  if (job.rendered.precheck !== undefined) {
    const blocked = checkPrecheck(await exec(job.rendered.precheck), op.timeoutMs);
    if (blocked) return finish(blocked);
  }

  transition('EXECUTING');
  const attempts = 1 + (op.retryable ? op.retries : 0);
  for (let attempt = 1; ; attempt++) {
    const verdict = await runAttempt(job, exec);
    const isLast = attempt >= attempts || ctx.killSignal.aborted || ctx.isCancelRequested();
    if (verdict.status === 'SUCCESS' || verdict.status === 'CANCELLED' || isLast) return finish(verdict);
    journal.logEvent({
      category: 'command',
      level: 'warn',
      actor: ctx.actor,
      hostId: job.hostId,
      action: 'retry',
      message: `${op.id} on ${job.hostId} failed (${verdict.error}); attempt ${attempt + 1} of ${attempts}`,
      details: { runId: job.runId, commandId, attempt: attempt + 1 },
    });
    onOutput(`\n[nixfleet] ${verdict.error}; attempt ${attempt + 1} of ${attempts}\n`);
    transition('EXECUTING');
  }
}

/**
 * CORE-001: output that could not be stored (a full disk) is never lost silently. The record says
 * so, and a command that otherwise succeeded is an ERROR, so the run cannot end COMPLETE with
 * its output missing and the host does not go on writing to a disk that refuses writes.
 */
function withLostOutput(verdict: Verdict, file: string, reason: string): Verdict {
  const note = `output not stored (${file}): ${reason}`;
  if (verdict.status === 'SUCCESS') {
    return { status: 'ERROR', exitCode: verdict.exitCode, error: `${note}; the command itself succeeded` };
  }
  return { ...verdict, error: verdict.error === null ? note : `${verdict.error}; ${note}` };
}

function checkPrecheck(result: ExecResult, timeoutMs: number): Verdict | null {
  const reason = failureReason('precheck', result, timeoutMs);
  if (reason === null) return null;
  if (result.aborted) return { status: 'CANCELLED', exitCode: null, error: reason };
  if (result.timedOut) return { status: 'TIMEOUT', exitCode: null, error: reason };
  // A precheck that could not run at all says nothing about the host's state: that is an ERROR.
  if (result.transportError !== undefined || result.exitCode === null) {
    return { status: 'ERROR', exitCode: result.exitCode, error: reason };
  }
  return { status: 'BLOCKED', exitCode: result.exitCode, error: reason };
}

async function runAttempt(job: CommandJob, exec: (command: string) => Promise<ExecResult>): Promise<Verdict> {
  const timeoutMs = job.op.timeoutMs;
  const result = await exec(job.rendered.run);
  const reason = failureReason('run', result, timeoutMs);
  if (reason !== null) return verdictOf(result, reason);
  if (job.rendered.postcheck === undefined) return { status: 'SUCCESS', exitCode: 0, error: null };
  const check = await exec(job.rendered.postcheck);
  const checkReason = failureReason('postcheck', check, timeoutMs);
  return checkReason === null ? { status: 'SUCCESS', exitCode: 0, error: null } : verdictOf(check, checkReason);
}

function verdictOf(result: ExecResult, reason: string): Verdict {
  if (result.aborted) return { status: 'CANCELLED', exitCode: null, error: reason };
  if (result.timedOut) return { status: 'TIMEOUT', exitCode: null, error: reason };
  return { status: 'ERROR', exitCode: result.exitCode, error: reason };
}
