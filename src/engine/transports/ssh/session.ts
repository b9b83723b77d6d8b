// One op command on one host through `ssh` (see CORE-007): streams output, enforces the timeout
// and cancel on the remote side, and decides between the command's exit status and ssh's failure.

import { processStartTime } from '../../../store/owner.js';
import { notRecordedReason } from '../../process-record.js';
import type { ExecOptions, ExecResult } from '../../types.js';
import { holdGroup, releaseGroup } from '../lifeline.js';
import { spawnerLostReason, spawnThroughSpawner } from '../spawner/spawner-client.js';
import type { SshDestination } from './arguments.js';
import { connectionLossReason, describeSshFailure, isConnectionLoss, sshNotStartedReason } from './failure-reason.js';
import { KILL_GRACE_MS, type StopSignal } from './reaper.js';
import { StartMarkerScanner } from './start-marker.js';

/**
 * After ssh exits, the longest wait for its stdout and stderr to reach end-of-file. Normally they
 * end at once, but a busy event loop may see 'exit' before the last chunks (the start line among
 * them) are read, and a mux client's master holds copies of the pipes until the session closes.
 */
const DRAIN_MS = 2_000;

/**
 * After the op's shell said it exited (its end line), how long ssh may take to end by itself.
 * sshd keeps the session open while anything still holds its output (`cmd &`): past this, ssh is
 * ended here and the command's exit status is the one its shell said (CORE-001: `cmd &` never
 * hangs a run; what it left in the background keeps running).
 */
const END_DRAIN_MS = 1_000;

export interface SessionOptions {
  readonly args: readonly string[];
  readonly startToken: string;
  /** Written on ssh's stdin after the start gate's line, which then stays open until ssh exits (the secret preamble, CORE-010). */
  readonly input?: string;
  readonly destination: SshDestination;
  readonly exec: ExecOptions;
  /** What is left of the op's timeout once the connection is up. */
  readonly timeoutMs: number;
  /** Stops the remote process group; resolves with the signal that ended it, or null if it could not. */
  readonly stopRemote: (pgid: number, first: StopSignal) => Promise<StopSignal | null>;
  /**
   * False once the connection the session rode on is gone (a multiplexing master that died);
   * absent without a master, where ssh itself says when its connection was lost.
   */
  readonly isConnectionUp?: () => Promise<boolean>;
}

export function runSession(options: SessionOptions): Promise<ExecResult> {
  const { exec } = options;
  // CORE-011: ssh's stdin is the remote lifeline (see ssh/lifeline.ts): a pipe nixfleet keeps open
  // until the command ends. ssh leads its own process group so a Ctrl-C at the terminal reaches
  // nixfleet only (the first one lets running commands finish), and the local lifeline can kill
  // ssh if nixfleet dies, which closes the session and so the remote lifeline too.
  // ssh is started by nixfleet's spawner (spawner/spawner-client.ts), as local commands are: a
  // fork of nixfleet's own, larger process was most of nixfleet's CPU per ssh command (CORE-007,
  // "Against bare OpenSSH"). Its environment is the spawner's, nixfleet's own without
  // nixfleet's secrets (command-environment.ts).
  return new Promise<ExecResult>((settle) => {
    let timedOut = false;
    let aborted = false;
    let exited = false;
    let outputEnded = false;
    let settled = false;
    let stopWanted: StopSignal | undefined;
    let stopping: Promise<void> | undefined;
    let endedBy: StopSignal | null = null;
    let startWait: NodeJS.Timeout | undefined;
    let endWait: NodeJS.Timeout | undefined;
    let drain: NodeJS.Timeout | undefined;
    let killWait: NodeJS.Timeout | undefined;
    /** The ssh client's pid, which leads its own process group, once the spawner started it. */
    let group: number | undefined;
    let startedAt: number | null = null;
    /** Why the start gate stayed shut: the journal could not record the ssh client's group. */
    let unrecorded: string | undefined;
    const scanner = new StartMarkerScanner(options.startToken);

    /** Ends the local ssh client (SIGKILL), which closes the session; only while it has not exited. */
    const killSsh = () => {
      if (group === undefined || exited) return;
      try {
        process.kill(group, 'SIGKILL');
      } catch {
        // Gone already: its exit is on the way.
      }
      // Its exit comes through the spawner: one that stopped answering must not hold the command.
      killWait ??= setTimeout(() => {
        if (exited) return;
        exited = true;
        spawned.abandon();
        concludeOnce(null, 'SIGKILL');
      }, KILL_GRACE_MS);
    };

    // Timeout and cancel act on the remote process group through a second ssh invocation (over
    // the master when multiplexing); killing only the local ssh would leave the command running.
    const stopRemoteNow = (pgid: number, first: StopSignal) => {
      stopping = options.stopRemote(pgid, first).then((signal) => {
        endedBy = signal;
        killSsh();
      });
    };
    const stop = (first: StopSignal) => {
      const escalates = stopWanted === 'TERM' && first === 'KILL';
      if (stopWanted !== undefined && !escalates) return;
      stopWanted = first;
      const pgid = scanner.pgid;
      if (pgid !== undefined) {
        stopRemoteNow(pgid, first);
        return;
      }
      // Not started remotely yet. The login shell may be about to run it (slow rc files), and
      // killing only the local ssh would then leave it running: wait, bounded, for the start line
      // and stop it remotely; if it never comes, nothing started and ending ssh ends the attempt.
      startWait ??= setTimeout(() => {
        if (scanner.pgid !== undefined) return;
        // A spawner that never started ssh: nothing ran, and the command is given up.
        if (group === undefined) {
          spawned.abandon();
          finish({ exitCode: null, signal: null, timedOut, aborted });
          return;
        }
        killSsh();
      }, KILL_GRACE_MS);
    };
    const timer = setTimeout(
      () => {
        timedOut = true;
        stop('TERM');
      },
      Math.max(0, options.timeoutMs),
    );
    const onAbort = () => {
      aborted = true;
      stop('KILL');
    };
    exec.signal?.addEventListener('abort', onAbort, { once: true });

    // The command's output is passed on as the bytes it wrote (CORE-001, output): stdout as it
    // comes, stderr read as one character per byte (latin1) for the start and end lines, and
    // turned back into those bytes.
    const onStderr = (chunk: string) => {
      const hadStarted = scanner.pgid !== undefined;
      const text = scanner.push(chunk);
      if (text !== '') exec.onOutput?.(Buffer.from(text, 'latin1'), 'stderr');
      const pgid = scanner.pgid;
      if (!hadStarted && pgid !== undefined && group !== undefined) {
        try {
          exec.onProcess?.({ group, startedAt, remoteGroup: pgid });
        } catch {
          // The run is stopping (the journal failed, CORE-002) and kills this command with it.
        }
      }
      if (!hadStarted && pgid !== undefined && stopWanted !== undefined && stopping === undefined) {
        stopRemoteNow(pgid, stopWanted);
      }
      if (scanner.endCode !== undefined && endWait === undefined) {
        endWait = setTimeout(killSsh, END_DRAIN_MS);
      }
    };

    const finish = (result: ExecResult) => {
      if (settled) return;
      settled = true;
      if (group !== undefined) releaseGroup(group);
      spawned.cancel();
      clearTimeout(timer);
      clearTimeout(startWait);
      clearTimeout(endWait);
      clearTimeout(drain);
      clearTimeout(killWait);
      exec.signal?.removeEventListener('abort', onAbort);
      settle(unrecorded === undefined ? result : { ...result, exitCode: null, transportError: unrecorded });
    };

    const conclude = async (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (stopping) await stopping;
      const held = scanner.flush();
      if (held !== '') exec.onOutput?.(Buffer.from(held, 'latin1'), 'stderr');
      const pgid = scanner.pgid;
      if (timedOut || aborted) {
        const by = endedBy ?? stopWanted;
        finish({ exitCode: null, signal: by ? `SIG${by}` : signal, timedOut, aborted });
        return;
      }
      // The op's shell said how it ended; ssh may have been ended here after that (END_DRAIN_MS).
      if (scanner.endCode !== undefined) {
        finish({ exitCode: scanner.endCode, signal: null, timedOut, aborted });
        return;
      }
      if (pgid === undefined) {
        const before = Buffer.from(scanner.beforeStart, 'latin1');
        if (before.length > 0) exec.onOutput?.(before);
        // ssh's own diagnostics, as text for the reason.
        const stderr = before.toString('utf8');
        if (exitCode === 255 || exitCode === null) {
          finish({
            exitCode: null,
            signal,
            timedOut,
            aborted,
            transportError: describeSshFailure(stderr, options.destination, exitCode),
          });
          return;
        }
        // The login shell answered but never ran our line (e.g. nologin, or a non-POSIX shell).
        finish({
          exitCode,
          signal,
          timedOut,
          aborted,
          transportError: `ssh: the login shell on ${options.destination.address} did not run the command (exit ${exitCode})`,
        });
        return;
      }
      // A mux client says nothing when its master dies; the master's socket being gone tells. The
      // client can exit a moment before the dying master removes it, so a 255 with no end line
      // waits for that, bounded (the op's shell reports its own 255 with an end line, above).
      if (exitCode === 255 && (isConnectionLoss(scanner.tail) || !(await connectionStaysUp(options.isConnectionUp)))) {
        finish({
          exitCode: null,
          signal,
          timedOut,
          aborted,
          transportError: connectionLossReason(options.destination),
          // CORE-009: the command was running, so it may have changed the host.
          started: true,
        });
        return;
      }
      finish({ exitCode, signal, timedOut, aborted });
    };

    let concluded = false;
    const concludeOnce = (exitCode: number | null, signal: NodeJS.Signals | null) => {
      if (concluded) return;
      concluded = true;
      void conclude(exitCode, signal);
    };
    let exitStatus: { code: number | null; signal: NodeJS.Signals | null } | undefined;

    const spawned = spawnThroughSpawner(
      'ssh',
      options.args,
      { cwd: process.cwd(), env: {}, split: true },
      {
        spawned: (pid) => {
          group = pid;
          startedAt = processStartTime(pid) ?? null;
          holdGroup(pid);
          try {
            exec.onProcess?.({ group: pid, startedAt });
          } catch (error) {
            unrecorded = notRecordedReason(error);
          }
          // CORE-011: now the lifeline holds ssh and the journal knows it, the remote line may start
          // (REMOTE_START_GATE); CORE-010: the secret preamble follows on that channel, which then
          // stays open. Unrecorded, or stopped before ssh existed, the channel ends instead: the
          // gate reads end-of-file and nothing runs.
          if (unrecorded === undefined && stopWanted === undefined) {
            spawned.feed(`\n${options.input ?? ''}`);
            return;
          }
          spawned.cancel();
          if (stopWanted !== undefined) killSsh();
        },
        failed: (cause) => {
          if (group !== undefined) {
            // The spawner itself died mid-command: nothing reads this ssh any more.
            killSsh();
            exited = true;
            finish({ exitCode: null, signal: null, timedOut, aborted, transportError: spawnerLostReason('ssh') });
            return;
          }
          exited = true;
          finish({ exitCode: null, signal: null, timedOut, aborted, transportError: sshNotStartedReason(cause) });
        },
        output: (chunk, stderr) => {
          if (stderr) onStderr(chunk.toString('latin1'));
          else exec.onOutput?.(chunk, 'stdout');
        },
        exit: (code, signal) => {
          exited = true;
          exitStatus = { code, signal: signal as NodeJS.Signals | null };
          spawned.cancel();
          if (outputEnded) {
            concludeOnce(code, exitStatus.signal);
            return;
          }
          // Normally the output ends at once; a mux client's master can hold copies of the pipes
          // until the session closes.
          drain = setTimeout(() => {
            spawned.close();
            concludeOnce(code, exitStatus?.signal ?? null);
          }, DRAIN_MS);
        },
        end: () => {
          outputEnded = true;
          if (exitStatus === undefined) return;
          clearTimeout(drain);
          concludeOnce(exitStatus.code, exitStatus.signal);
        },
      },
    );
  });
}

/** How long a 255 without an end line waits for a dying master's socket to go (CORE-007). */
const MASTER_GONE_WAIT_MS = 2_000;

/** False as soon as the connection is seen down within MASTER_GONE_WAIT_MS; true if it stays up. */
async function connectionStaysUp(isConnectionUp: (() => Promise<boolean>) | undefined): Promise<boolean> {
  if (isConnectionUp === undefined) return true;
  const giveUpAt = Date.now() + MASTER_GONE_WAIT_MS;
  while (await isConnectionUp()) {
    if (Date.now() >= giveUpAt) return true;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return false;
}
