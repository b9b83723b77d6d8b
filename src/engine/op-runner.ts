// Runs one op on one host: PENDING -> VALIDATING (precheck) -> EXECUTING (run, postcheck,
// automatic retries) -> SUCCESS | ERROR | TIMEOUT, or BLOCKED / CANCELLED (see CORE-001).
// Every status change goes through the journal, which enforces the status machine.

import type { CommandStatus } from '../domain/status.js';
import { PROCESS_TAG_VARIABLE } from '../domain/tagged-processes.js';
import { oneLine } from '../domain/terminal-text.js';
import { LOGS_DIR } from '../store/journal.js';
import type { CommandPatch } from '../store/types.js';
import { createCommandOutput } from './command-output.js';
import { commandStatusEvent } from './command-status-event.js';
import { failureReason } from './failure-reason.js';
import { processRecorder } from './process-record.js';
import { createRollbackGuard, type RollbackJob, type RollbackRunContext } from './rollback.js';
import { privateEnvOf } from './secrets/private-env.js';
import { redactText } from './secrets/secret-redactor.js';
import { withSecrets } from './secrets/secret-transport.js';
import type { CommandProcess, ExecResult } from './types.js';
import { type Verdict, withLostOutput } from './verdict.js';

/** A command of a run: what its rollback needs (rollback.ts), plus the run's secrets. */
export interface CommandJob extends RollbackJob {
  /** The run's resolved secrets, by name (see CORE-010). */
  readonly secrets?: ReadonlyMap<string, string>;
  /** What to redact from output and error messages: every secret the run resolved. */
  readonly redact?: readonly string[];
}

export interface CommandRunContext extends RollbackRunContext {
  /** A plain cancel lets a running attempt finish but starts no automatic retry. */
  readonly isCancelRequested: () => boolean;
  /**
   * The op's final status is journaled and its rollback starts now: the rollout counts the host
   * as failed from here, not once the rollback ended (see CORE-008, CORE-009).
   */
  readonly onRollbackStart?: (status: CommandStatus) => void;
}

/** Runs the command to a terminal status and returns it. Never throws for a failing command. */
export async function runCommand(job: CommandJob, ctx: CommandRunContext): Promise<CommandStatus> {
  const { journal, emit } = ctx;
  const { op, commandId } = job;
  /** VALIDATING and EXECUTING are still to take before any other step (see `nothingFirst` below). */
  let startPending = false;
  const start = (process?: CommandProcess) => {
    if (!startPending) return false;
    // Taken only once journaled: after a failed try (a journal busy past its wait) the command is
    // still PENDING, and its final status takes the steps first.
    const records = journal.transitionCommandSteps(commandId, ['VALIDATING', 'EXECUTING'], process);
    startPending = false;
    for (const record of records) emit(commandStatusEvent(record));
    return true;
  };
  const transitionRecord = (to: CommandStatus, patch?: CommandPatch) => {
    start();
    return journal.transitionCommand(commandId, to, patch);
  };
  const transition = (to: CommandStatus, patch?: CommandPatch) => {
    const record = transitionRecord(to, patch);
    emit(commandStatusEvent(record));
    return record.status;
  };
  const onProcess = processRecorder(ctx, commandId, (process) => {
    if (!start(process)) journal.recordProcess(commandId, process);
  });

  const output = createCommandOutput(journal, emit, job, ctx.onJournalFailure);
  const onOutput = output.write;
  const env = { ...job.rendered.env, NIXFLEET_RUN_ID: job.runId, NIXFLEET_COMMAND_ID: commandId };
  // CORE-010: every command of this job (checks, run, rollback, armed timer) gets the secrets
  // privately and has them redacted from its output before the file, the tail or any listener.
  const patterns = job.redact ?? [];
  const reserved = new Set([...Object.keys(env), PROCESS_TAG_VARIABLE]);
  const transport = withSecrets(
    job.transport,
    privateEnvOf(job.rendered, job.secrets ?? new Map(), reserved),
    patterns,
  );
  // CORE-001: a reason is one line, whatever a host value or a remote error put in it.
  const redact = (error: string | null) => (error === null ? null : oneLine(redactText(error, patterns)));
  const exec = (command: string, signal: AbortSignal = ctx.killSignal): Promise<ExecResult> =>
    transport.exec(command, {
      env,
      ...(job.rendered.cwd !== undefined ? { cwd: job.rendered.cwd } : {}),
      timeoutMs: op.timeoutMs,
      signal,
      onOutput,
      onProcess,
    });
  const guard = createRollbackGuard({ ...job, transport }, ctx, env);
  // With nothing to check or arm first, VALIDATING and EXECUTING go into the journal in one
  // transaction (CORE-003). Where the command's time starts at its start gate (a local host) they
  // wait for its processes and go in with them: it is EXECUTING from the moment the gate is about
  // to open, and one that ends before it had processes (cancelled first, not spawned) takes both
  // steps on its way to its final status. Over ssh its time starts now, connecting included.
  const nothingFirst = job.rendered.precheck === undefined && guard === undefined;
  if (nothingFirst) {
    startPending = true;
    if (transport.startsAtGate !== true) start();
  }
  const finish = async (verdict: Verdict) => {
    // The log file is complete before anyone can see the final status.
    const lost = await output.close();
    const final = lost === undefined ? verdict : withLostOutput(verdict, `${LOGS_DIR}/${commandId}.log`, lost);
    return transition(final.status, { exitCode: final.exitCode, error: redact(final.error) });
  };
  /**
   * CORE-009: once a timer is armed, the op's commands are killed (SIGKILL, as a kill is) at its
   * deadline, and none starts after it: the host's rollback must never run beside the op.
   */
  const execArmed = async (command: string): Promise<AttemptResult> => {
    const deadline = guard?.deadline();
    if (deadline === undefined) return exec(command);
    if (Date.now() >= deadline) return { ...NOT_STARTED, armedDue: true };
    const due = new AbortController();
    const timer = setTimeout(() => due.abort(), deadline - Date.now());
    try {
      const result = await exec(command, AbortSignal.any([ctx.killSignal, due.signal]));
      return due.signal.aborted && !ctx.killSignal.aborted ? { ...result, aborted: false, armedDue: true } : result;
    } finally {
      clearTimeout(timer);
    }
  };

  if (!nothingFirst) {
    transition('VALIDATING');
    if (job.rendered.precheck !== undefined) {
      const blocked = checkPrecheck(await exec(job.rendered.precheck), op.timeoutMs);
      if (blocked) return finish(blocked);
    }
    // CORE-009: an armed timer is left on the host before anything there changes.
    const unarmed = await guard?.arm(onOutput);
    if (unarmed) return finish(unarmed);
    transition('EXECUTING');
  }
  const attempts = 1 + (op.retryable ? op.retries : 0);
  // CORE-009: an op is rolled back if any attempt started on the host, even if the last did not.
  let started = false;
  for (let attempt = 1; ; attempt++) {
    const attempted = await runAttempt(job, execArmed, (started) => guard?.dueReason(started) ?? '');
    started ||= attempted.notRun !== true;
    const verdict = started ? { ...attempted, notRun: false } : attempted;
    // CORE-009: once the armed timer is due, its rollback has run (or is about to); an attempt
    // after it would make the change again, with nothing left to undo it.
    const timerDue = attempt < attempts && verdict.status !== 'SUCCESS' && guard?.due() === true;
    if (timerDue) {
      onOutput(
        `\n[nixfleet] ${redact(verdict.error)}; no attempt ${attempt + 1}: the armed rollback was due, the host rolls the change back\n`,
      );
    }
    const isLast = attempt >= attempts || ctx.killSignal.aborted || ctx.isCancelRequested() || timerDue;
    if (verdict.status === 'SUCCESS' || verdict.status === 'CANCELLED' || isLast) {
      if (!guard) return finish(verdict);
      const outcome = await guard.settle(verdict, onOutput);
      const lost = await output.close();
      const settled = lost === undefined ? outcome : withLostOutput(outcome, `${LOGS_DIR}/${commandId}.log`, lost);
      // The rollback is created while the failed command still holds the host (CORE-009); output
      // that could not be stored is no reason to undo a change that worked.
      const rollback = guard.reserve(outcome);
      const record = transitionRecord(settled.status, {
        exitCode: settled.exitCode,
        error: redact(settled.error),
      });
      emit({ ...commandStatusEvent(record), ...(rollback ? { rollbackId: rollback.id } : {}) });
      if (rollback) {
        ctx.onRollbackStart?.(record.status);
        await guard.run(rollback);
      }
      return record.status;
    }
    journal.logEvent({
      category: 'command',
      level: 'warn',
      actor: ctx.actor,
      hostId: job.hostId,
      action: 'retry',
      message: `${op.id} on ${job.hostId} failed (${redact(verdict.error)}); attempt ${attempt + 1} of ${attempts}`,
      details: { runId: job.runId, commandId, attempt: attempt + 1 },
    });
    onOutput(`\n[nixfleet] ${redact(verdict.error)}; attempt ${attempt + 1} of ${attempts}\n`);
    // The journal keeps the retry's reason in the event log; renderers get it with the new attempt.
    const again = transitionRecord('EXECUTING');
    const retryReason = redact(verdict.error);
    emit({ ...commandStatusEvent(again), ...(retryReason !== null ? { retryReason } : {}) });
  }
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

/** A command's result; `armedDue`: killed at its armed timer's deadline, or not started after it. */
type AttemptResult = ExecResult & { readonly armedDue?: boolean };

const NOT_STARTED: ExecResult = { exitCode: null, signal: null, timedOut: false, aborted: false, started: false };

async function runAttempt(
  job: CommandJob,
  exec: (command: string) => Promise<AttemptResult>,
  dueReason: (started: boolean) => string,
): Promise<Verdict> {
  const timeoutMs = job.op.timeoutMs;
  const result = await exec(job.rendered.run);
  if (result.armedDue === true) {
    const started = result.started !== false;
    return { status: 'TIMEOUT', exitCode: null, error: dueReason(started), notRun: !started };
  }
  const reason = failureReason('run', result, timeoutMs);
  if (reason !== null) {
    const notRun = result.transportError !== undefined && result.started !== true;
    return { ...verdictOf(result, reason), notRun };
  }
  if (job.rendered.postcheck === undefined) return { status: 'SUCCESS', exitCode: 0, error: null };
  const check = await exec(job.rendered.postcheck);
  // The run itself did start: a postcheck killed at the deadline leaves a change to undo.
  if (check.armedDue === true) return { status: 'TIMEOUT', exitCode: null, error: dueReason(true) };
  const checkReason = failureReason('postcheck', check, timeoutMs);
  return checkReason === null ? { status: 'SUCCESS', exitCode: 0, error: null } : verdictOf(check, checkReason);
}

function verdictOf(result: ExecResult, reason: string): Verdict {
  if (result.aborted) return { status: 'CANCELLED', exitCode: null, error: reason };
  if (result.timedOut) return { status: 'TIMEOUT', exitCode: null, error: reason };
  return { status: 'ERROR', exitCode: result.exitCode, error: reason };
}
