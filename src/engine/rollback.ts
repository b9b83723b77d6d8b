// An op's `rollback:` (see CORE-009). Where the op fails (ERROR or TIMEOUT), the rollback runs
// on that host through the same transport as its own journaled command, linked to the failed one.
// With `armed:`, a timer is left on the host before the op runs; nixfleet disarms it only once the
// op succeeded and a fresh connection reached the host again, else the host rolls itself back.
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatDuration } from '../config/duration.js';
import type { ArmedState } from '../domain/armed-state.js';
import type { CommandStatus } from '../domain/status.js';
import type { Op } from '../registry/types.js';
import { LOGS_DIR } from '../store/journal.js';
import type { CommandRecord, Journal } from '../store/types.js';
import {
  armScript,
  claimScript,
  parseTimerReply,
  statusScript,
  TIMER_NONCE_BYTES,
  type TimerReply,
  timerName,
  timerOwner,
} from './armed-timer.js';
import { createCommandOutput } from './command-output.js';
import { commandStatusEvent } from './command-status-event.js';
import { failureReason } from './failure-reason.js';
import { processRecorder } from './process-record.js';
import type { OutputChunk, RenderedCommand, RunEventListener, Transport } from './types.js';
import { isRollbackWorthy, type Verdict, withLostOutput } from './verdict.js';

export interface RollbackJob {
  readonly runId: string;
  readonly commandId: string;
  readonly hostId: string;
  readonly stage: number;
  readonly op: Op;
  readonly rendered: RenderedCommand;
  readonly transport: Transport;
  /** settings.shell: an armed rollback timer runs the rollback with it on the host (CORE-009). */
  readonly shell?: string;
  /** The variables `env:` secrets are read from: an armed timer redacts them too (CORE-010). */
  readonly secretVariables?: readonly string[];
}

export interface RollbackRunContext {
  readonly journal: Journal;
  readonly actor: string;
  readonly emit: RunEventListener;
  /** Aborted by a kill (second Ctrl-C, cancel with kill): the running tree dies now. */
  readonly killSignal: AbortSignal;
  /** False with `--no-rollback`: no rollback runs and no timer is armed (CORE-009). */
  readonly rollback?: boolean;
  /**
   * The journal failed outside a command's own status steps (opening its output, a progress
   * report, recording its processes): the run must stop (see CORE-002). Errors of the status
   * steps are thrown instead.
   */
  readonly onJournalFailure: (error: unknown) => void;
}

export interface RollbackGuard {
  /** Leaves the armed timer on the host; a verdict when that failed (the op must not run). */
  arm(onOutput: (chunk: OutputChunk) => void): Promise<Verdict | undefined>;
  /**
   * Epoch ms by which the op's commands must be over: the host's timer is due just after it
   * (CORE-009). Undefined when no timer is armed.
   */
  deadline(): number | undefined;
  /**
   * The deadline has passed: the timer has run the rollback, or is about to. Another attempt of
   * the op would make the change again after it (CORE-009).
   */
  due(): boolean;
  /** Why a command of the op was killed at the deadline, or not started after it. */
  dueReason(started: boolean): string;
  /** Disarms after a success, or claims the timer after a failure; may turn a success into an ERROR. */
  settle(verdict: Verdict, onOutput: (chunk: OutputChunk) => void): Promise<Verdict>;
  /** The PENDING rollback command when the final verdict calls for one. */
  reserve(verdict: Verdict): CommandRecord | undefined;
  /** Runs (or, when the host's timer has it, follows) the rollback to a final status. */
  run(rollback: CommandRecord): Promise<CommandStatus>;
}

/** How long to wait between looks at a host whose timer is due. */
const POLL_MS = 1000;

/** Undefined when the op has no rollback or rollbacks are off (`--no-rollback`). */
export function createRollbackGuard(
  job: RollbackJob,
  ctx: RollbackRunContext,
  env: Readonly<Record<string, string>>,
): RollbackGuard | undefined {
  const spec = job.op.rollback;
  const command = job.rendered.rollback;
  if (ctx.rollback === false || spec === undefined || command === undefined) return undefined;
  const { journal } = ctx;
  const delayMs = spec.armedMs;
  const name = timerName(job.runId, job.commandId, randomBytes(TIMER_NONCE_BYTES).toString('hex'));
  let armedAt = 0;
  /** When nixfleet asked the host to arm: the host's timer cannot start before (CORE-009). */
  let armAskedAt = 0;
  // Who runs the rollback: nixfleet, or the host's own timer (which nixfleet then follows).
  let byHost = false;
  let unreachable = '';
  let hostReply: TimerReply | undefined;

  const execOptions = (timeoutMs: number, onOutput: (chunk: OutputChunk) => void, fresh: boolean) => ({
    env,
    ...(job.rendered.cwd !== undefined ? { cwd: job.rendered.cwd } : {}),
    timeoutMs,
    signal: ctx.killSignal,
    onOutput,
    fresh,
  });
  /**
   * Runs a timer script (over a fresh connection unless told); the reply, or why the host was not
   * reached. `output` gets all the script printed.
   */
  const ask = async (
    script: string,
    timeoutMs: number,
    fresh = true,
    output?: (text: string) => void,
  ): Promise<TimerReply | string> => {
    let text = '';
    const result = await job.transport.exec(
      script,
      execOptions(timeoutMs, (chunk) => (text += chunk), fresh),
    );
    output?.(text);
    const reason = failureReason('run', result, timeoutMs);
    const reply = reason === null ? parseTimerReply(text) : undefined;
    return reply ?? reason ?? `unexpected reply: ${text.trim().split('\n').pop() ?? ''}`;
  };
  let armedState: ArmedState | undefined;
  const setArmed = (state: ArmedState) => {
    if (delayMs === undefined || state === armedState) return;
    armedState = state;
    journal.setArmed(job.commandId, delayMs, state);
    ctx.emit({ ...idsOf(job), type: 'armed_rollback', delayMs, state, at: Date.now() });
  };
  const log = (level: 'info' | 'warn' | 'error', action: string, message: string, details: object = {}) =>
    journal.logEvent({
      category: 'rollback',
      level,
      actor: ctx.actor,
      hostId: job.hostId,
      action,
      message,
      details: { runId: job.runId, commandId: job.commandId, ...details },
    });

  /**
   * The host's timer sleeps the delay, rounded up to whole seconds, from a moment after nixfleet
   * asked it to arm; the op's commands are over a tenth of the delay (at most a second) before
   * the earliest moment it can fire, so that the kill has landed (CORE-009).
   */
  const deadline = () =>
    delayMs === undefined || armedAt === 0 ? undefined : armAskedAt + delayMs - Math.min(1000, delayMs / 10);

  return {
    async arm(onOutput) {
      if (delayMs === undefined) return undefined;
      // CORE-009: command-size.ts measures this line at plan time; keep the two alike.
      const script = armScript(name, {
        delayMs,
        shell: job.shell ?? '/bin/sh',
        rollback: command,
        owner: timerOwner(job.hostId, job.op.id, journal.id),
        secretVariables: job.secretVariables ?? [],
      });
      let superseded: string[] = [];
      let said = '';
      armAskedAt = Date.now();
      // Arming may use the op's own connection: nothing on the host has changed yet.
      const reply = await ask(script, job.op.timeoutMs, false, (text) => {
        superseded = [...text.matchAll(/^superseded (\S+)$/gm)].map((match) => match[1] as string);
        said = text.trim().split('\n').pop()?.trim() ?? '';
      });
      // CORE-009: an earlier run's timer for this op on this host, of this journal (or an older
      // nixfleet's, which names none), never confirmed nor undone (that nixfleet died or was
      // killed), is claimed so that it cannot undo this run's change; this timer guards it now.
      for (const earlier of superseded) {
        const message = `${job.op.id} on ${job.hostId}: took over the armed rollback left by an earlier run (${earlier}), which was never confirmed`;
        onOutput(`[nixfleet] ${message}\n`);
        log('warn', 'superseded', message, { superseded: earlier });
      }
      if (typeof reply === 'string' || reply.kind !== 'armed') {
        // What the script said last is why (a HOME it refuses, a `mkdir` that failed).
        const why =
          typeof reply !== 'string' ? reply.kind : said === '' || reply.endsWith(said) ? reply : `${reply}: ${said}`;
        const reason = `could not arm the rollback timer: ${why}`;
        onOutput(`[nixfleet] ${reason}\n`);
        return { status: 'ERROR', exitCode: null, error: reason };
      }
      armedAt = Date.now();
      setArmed('armed');
      log('info', 'armed', `${job.op.id} on ${job.hostId}: rollback armed, fires in ${formatDuration(delayMs)}`);
      return undefined;
    },

    deadline,
    due() {
      const at = deadline();
      return at !== undefined && Date.now() >= at;
    },
    dueReason: (started) =>
      started
        ? `killed before its armed rollback was due (armed ${formatDuration(delayMs ?? 0)}), so that the rollback does not run beside it`
        : `not started: its armed rollback was due (armed ${formatDuration(delayMs ?? 0)})`,

    async settle(verdict, onOutput) {
      if (delayMs === undefined || armedAt === 0) return verdict;
      if (verdict.status === 'CANCELLED') {
        // Killed mid-change: nixfleet neither confirms nor undoes it; the timer decides.
        setArmed('unknown');
        log('warn', 'left-armed', `${job.op.id} on ${job.hostId} was killed; its armed rollback fires as set`);
        return verdict;
      }
      const reply = await ask(claimScript(name), job.op.timeoutMs);
      if (typeof reply === 'string') {
        byHost = true;
        unreachable = reply;
        const reason = `no fresh connection after the op (${reply}); the host rolls itself back when its timer fires`;
        onOutput(`[nixfleet] ${reason}\n`);
        return verdict.status === 'SUCCESS' ? { status: 'ERROR', exitCode: null, error: reason } : verdict;
      }
      if (reply.kind === 'claimed') {
        setArmed('disarmed');
        if (verdict.status === 'SUCCESS') log('info', 'disarmed', `${job.op.id} on ${job.hostId}: rollback disarmed`);
        return verdict;
      }
      byHost = true;
      // `done` carries the host's rollback output, which the timer's directory no longer holds.
      hostReply = reply;
      if (reply.kind === 'done' || reply.kind === 'running') setArmed('fired');
      const reason =
        reply.kind === 'missing'
          ? "the armed rollback's state is gone from the host; nixfleet cannot tell whether it fired"
          : `the armed rollback fired before nixfleet could disarm it (armed ${formatDuration(delayMs)})`;
      onOutput(`[nixfleet] ${reason}\n`);
      return verdict.status === 'SUCCESS' ? { status: 'ERROR', exitCode: null, error: reason } : verdict;
    },

    reserve(verdict) {
      // The host's own timer runs the rollback whatever nixfleet thinks: follow it.
      if (!byHost && !isRollbackWorthy(verdict)) return undefined;
      return journal.addRollback(job.commandId);
    },

    async run(rollback) {
      const ids = { ...idsOf(job), commandId: rollback.id };
      const output = createCommandOutput(journal, ctx.emit, ids);
      const transition = (to: CommandStatus, patch?: { exitCode?: number | null; error?: string | null }) => {
        const record = journal.transitionCommand(rollback.id, to, patch);
        ctx.emit(commandStatusEvent(record));
        return record;
      };
      transition('VALIDATING');
      transition('EXECUTING');
      const outcome = byHost ? await followHost(output.write) : await runHere(output.write, rollback.id);
      const lost = await output.close();
      const verdict = lost === undefined ? outcome : withLostOutput(outcome, `${LOGS_DIR}/${rollback.id}.log`, lost);
      const record = transition(verdict.status, { exitCode: verdict.exitCode, error: verdict.error });
      if (verdict.status === 'SUCCESS') {
        log('info', 'succeeded', `rollback ${rollback.id} of ${job.op.id} on ${job.hostId} succeeded`, {
          rollbackId: rollback.id,
        });
      } else {
        // CORE-009: a rollback that did not succeed leaves a host in an unknown state.
        log(
          'error',
          'failed',
          `rollback ${rollback.id} of ${job.op.id} on ${job.hostId} ${verdict.status}: ${verdict.error}; ${job.hostId} needs a person`,
          { rollbackId: rollback.id },
        );
      }
      return record.status;
    },
  };

  async function runHere(onOutput: (chunk: OutputChunk) => void, rollbackId: string): Promise<Verdict> {
    const result = await job.transport.exec(command!, {
      ...execOptions(spec!.timeoutMs, onOutput, false),
      env: { ...env, NIXFLEET_COMMAND_ID: rollbackId, NIXFLEET_ROLLBACK_OF: job.commandId },
      // CORE-011: as the op's own command, so that after a crash its host stays busy while it runs.
      onProcess: processRecorder(ctx, rollbackId),
    });
    const reason = failureReason('rollback', result, spec!.timeoutMs);
    if (reason === null) return { status: 'SUCCESS', exitCode: 0, error: null };
    if (result.aborted) return { status: 'CANCELLED', exitCode: null, error: reason };
    if (result.timedOut) return { status: 'TIMEOUT', exitCode: null, error: reason };
    return { status: 'ERROR', exitCode: result.exitCode, error: reason };
  }

  /** Waits for the host's timer to be due, then reads what it did until the rollback's timeout. */
  async function followHost(onOutput: (chunk: OutputChunk) => void): Promise<Verdict> {
    const dueAt = armedAt + (delayMs ?? 0);
    const deadline = dueAt + spec!.timeoutMs;
    if (hostReply === undefined) {
      onOutput(`[nixfleet] waiting for the host's armed rollback (due ${new Date(dueAt).toISOString()})\n`);
    }
    let last: TimerReply | string = hostReply ?? unreachable;
    try {
      if (hostReply === undefined && dueAt > Date.now()) {
        await sleep(dueAt - Date.now(), undefined, { signal: ctx.killSignal });
      }
      for (;;) {
        if (typeof last === 'string' || last.kind !== 'done') {
          const budgetMs = Math.max(1000, Math.min(30_000, deadline - Date.now()));
          const answer = await ask(statusScript(name), budgetMs);
          // A try the deadline cut short says less than why the host turned the one before away
          // (`permission denied`): that reason stays.
          const cutShort = answer === `timed out after ${formatDuration(budgetMs)}`;
          if (!(cutShort && typeof last === 'string' && last !== '')) last = answer;
        }
        if (typeof last !== 'string' && last.kind === 'done') {
          setArmed('fired');
          onOutput(`[nixfleet] the host's timer ran the rollback; its output:\n${last.log}`);
          if (last.exitCode === 0) return { status: 'SUCCESS', exitCode: 0, error: null };
          return { status: 'ERROR', exitCode: last.exitCode, error: `rollback failed (exit ${last.exitCode ?? '?'})` };
        }
        if (typeof last !== 'string' && last.kind === 'missing') break;
        if (ctx.killSignal.aborted || Date.now() >= deadline) break;
        await sleep(POLL_MS, undefined, { signal: ctx.killSignal });
      }
    } catch {
      // Aborted by a kill: fall through to the verdict below.
    }
    if (ctx.killSignal.aborted) {
      setArmed('unknown');
      return { status: 'CANCELLED', exitCode: null, error: 'killed by cancel while waiting for the armed rollback' };
    }
    if (typeof last !== 'string' && last.kind === 'running') {
      setArmed('fired');
      const reason = `the host's armed rollback did not finish within ${formatDuration(spec!.timeoutMs)}`;
      return { status: 'TIMEOUT', exitCode: null, error: reason };
    }
    setArmed('unknown');
    const why = typeof last === 'string' ? `not reached: ${last}` : `timer state ${last.kind}`;
    // A person will want the timer's own record: say where it is kept on the host, unless the
    // host was reached and it is not there any more (CORE-009).
    const where =
      typeof last !== 'string' && last.kind === 'missing'
        ? `~/.nixfleet/armed/${name}/ is gone from the host`
        : `the host keeps it in ~/.nixfleet/armed/${name}/`;
    return { status: 'ERROR', exitCode: null, error: `the armed rollback's outcome is unknown (${why}); ${where}` };
  }
}

function idsOf(job: RollbackJob) {
  return { runId: job.runId, commandId: job.commandId, hostId: job.hostId, stage: job.stage };
}

/** The run's rollbacks that did not succeed. */
export function failedRollbacks(journal: Journal, runId: string): CommandRecord[] {
  return journal
    .listCommands({ runId, limit: 1_000_000 })
    .filter((c) => c.rollbackOf !== null && c.status !== 'SUCCESS');
}
