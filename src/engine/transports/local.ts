// The local transport: `settings.shell -c <command>` on the machine running nixfleet
// (see CORE-001). The shell leads its own process group so a timeout or a kill reaches every
// process the command started, not just the shell.

import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { formatDuration } from '../../config/duration.js';
import { isProcessGroupAlive, liveGroupMembers, signalProcessGroup } from '../../domain/process-group.js';
import {
  killTaggedProcesses,
  PROCESS_TAG_VARIABLE,
  signalTaggedProcesses,
  taggedProcesses,
} from '../../domain/tagged-processes.js';
import { processStartTime } from '../../store/owner.js';
import { localScript, notRecordedReason } from '../process-record.js';
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { holdCommand, releaseCommand } from './lifeline.js';
import { spawnFailureReason } from './spawn-failure.js';
import { SPAWNER_LOST, spawnerLostReason, spawnThroughSpawner } from './spawner/spawner-client.js';

/** CORE-001 (TIMEOUT): SIGTERM first, SIGKILL this long after if anything survives. */
export const KILL_GRACE_MS = 5_000;
/**
 * After SIGKILL, how long a timed-out or killed command goes on killing what is left of its tree
 * before it is over anyway (CORE-011, "Processes that leave the group").
 */
export const KILL_WAIT_MS = 5_000;
/** After the shell exits, how often to look whether only background children still hold its output open. */
const DRAIN_MS = 100;

export function createLocalTransport(options: { shell: string; cwd: string }): Transport {
  return {
    startsAtGate: true,
    exec: (command, execOptions) => execLocal(command, options, execOptions),
    close: async () => {},
  };
}

let tagPrefix: string | undefined;
let tagCount = 0;

/**
 * A tag no other command on this machine has: random per nixfleet process, then a count. All are
 * one length, so none is the start of another (the lifeline finds them with `grep -F`).
 */
function newProcessTag(): string {
  tagPrefix ??= randomBytes(6).toString('hex');
  return `${tagPrefix}${(tagCount++ % 2 ** 32).toString(16).padStart(8, '0')}`;
}

function execLocal(command: string, base: { shell: string; cwd: string }, options: ExecOptions): Promise<ExecResult> {
  const cwd =
    options.cwd === undefined ? base.cwd : isAbsolute(options.cwd) ? options.cwd : resolve(base.cwd, options.cwd);
  if (options.signal?.aborted) {
    return Promise.resolve({ exitCode: null, signal: null, timedOut: false, aborted: true });
  }
  // CORE-011: what escapes the group (`setsid`) is still found by this tag in its environment.
  const tag = newProcessTag();

  return new Promise<ExecResult>((settle) => {
    let pid: number | undefined;
    let timedOut = false;
    let aborted = false;
    let exited: ExecResult | undefined;
    let outputEnded = false;
    let forceKill: NodeJS.Timeout | undefined;
    /** When the tree got SIGKILL: from then on each look at it kills again what it finds. */
    let killedAt: number | undefined;
    let drain: NodeJS.Timeout | undefined;
    let settled = false;
    /** Why the start gate stayed shut: the journal could not record the command's group. */
    let unrecorded: string | undefined;
    let survivedKill = false;

    // SIGKILL by tag goes in passes until two in a row find nothing left to kill: what a tagged
    // process forks while a pass runs escapes that pass (CORE-011). A group's SIGKILL reaches its
    // forks too.
    const killTree = (signal: NodeJS.Signals) => {
      if (pid === undefined) return;
      signalProcessGroup(pid, signal);
      if (signal === 'SIGKILL') {
        killedAt ??= Date.now();
        killTaggedProcesses(tag);
        return;
      }
      signalTaggedProcesses(tag, signal);
      forceKill ??= setTimeout(() => killTree('SIGKILL'), KILL_GRACE_MS);
    };
    const onAbort = () => {
      aborted = true;
      // Not started yet: nothing runs to kill, and a spawner that never answers must not hold the
      // kill up. If the shell comes after all, its gate stays shut.
      if (pid === undefined) giveUp({ exitCode: null, signal: null, timedOut: false, aborted: true });
      else killTree('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    const finish = (result: ExecResult) => {
      if (settled) return;
      settled = true;
      // What survived the kill stays held: the lifeline kills it again when nixfleet exits.
      if (pid !== undefined && !survivedKill) {
        releaseCommand(pid, tag);
      }
      clearTimeout(timer);
      clearTimeout(forceKill);
      clearTimeout(drain);
      options.signal?.removeEventListener('abort', onAbort);
      settle(unrecorded === undefined ? result : { ...result, exitCode: null, transportError: unrecorded });
    };
    // A timed-out or killed command is over only when its whole tree is gone: children that
    // ignore SIGTERM get the SIGKILL at the end of the grace period (CORE-001).
    // The tree includes what left the group but carries the command's tag (CORE-011).
    const isTreeAlive = (group: number) => isProcessGroupAlive(group) || taggedProcesses(tag).length > 0;
    let concluding = false;
    const finishWhenTreeIsGone = (result: ExecResult) => {
      if (concluding) return;
      concluding = true;
      const group = pid;
      if (!(timedOut || aborted) || group === undefined || !isTreeAlive(group)) {
        finish(result);
        return;
      }
      // No SIGKILL on its way (the timeout fired before the shell was spawned): send it now.
      if (killedAt === undefined && forceKill === undefined) killTree('SIGKILL');
      const poll = setInterval(() => {
        if (!isTreeAlive(group)) {
          clearInterval(poll);
          finish(result);
          return;
        }
        // Still in the grace period: its SIGKILL is to come.
        if (killedAt === undefined) return;
        // Bounded: a process stuck in the kernel (state D), or a zombie left for a non-reaping
        // init, would otherwise keep the command running forever.
        if (Date.now() - killedAt >= KILL_WAIT_MS) {
          clearInterval(poll);
          survivedKill = true;
          const left = [...new Set([...liveGroupMembers(group), ...taggedProcesses(tag)])].join(' ');
          options.onOutput?.(
            `\n[nixfleet] still alive ${KILL_WAIT_MS / 1000}s after SIGKILL: ${left || `process group ${group}`}; killed again when nixfleet exits\n`,
          );
          finish(result);
          return;
        }
        killTree('SIGKILL');
      }, 50);
    };

    // CORE-001: the op's timeout. First it bounds the wait for the spawner to report the shell: one
    // stopped, or stuck in the kernel, ends the command as never started instead of leaving it
    // waiting for ever. Then it counts again from the gate opening (`spawned`): the command's own
    // time, not the wait for a busy spawner, which the journal does not count as running either.
    const timer = setTimeout(() => {
      if (pid !== undefined) {
        timedOut = true;
        killTree('SIGTERM');
        return;
      }
      giveUp({
        exitCode: null,
        signal: null,
        timedOut: false,
        aborted: false,
        transportError: `local: nixfleet's spawner did not start ${base.shell} within the op's timeout (${formatDuration(options.timeoutMs)}); the command never ran`,
      });
    }, options.timeoutMs);

    /** Over before the spawner reported the shell: it never runs, and nothing of it is heard. */
    const giveUp = (result: ExecResult) => {
      spawned.abandon();
      finish(result);
    };

    // The spawner (spawner/spawner-client.ts) runs `shell -c` in a new session, so the shell leads
    // a process group that a timeout or kill reaches whole. `exec 2>&1` first: one pipe keeps stdout
    // and stderr in the order the command wrote them. Then the gate (CORE-011): the shell waits for
    // one line on stdin, which is sent only once the lifeline holds the group and the journal knows
    // it; a nixfleet killed in between takes the spawner with it, the pipe closes and the command
    // never starts. The command itself reads /dev/null.
    const spawned = spawnThroughSpawner(
      base.shell,
      ['-c', localScript(command)],
      {
        cwd,
        // Laid over nixfleet's own environment, which the spawner inherited (CORE-001).
        // CORE-010: secrets travel in the environment, which `ps` does not show to other users.
        env: { ...options.env, ...options.privateEnv, [PROCESS_TAG_VARIABLE]: tag },
      },
      {
        spawned: (group) => {
          pid = group;
          // CORE-011: if nixfleet dies while the command runs, the lifeline kills its group, and the
          // journal knows the group (and its leader's start time) so recovery can tell whether it is gone.
          holdCommand(group, tag);
          try {
            options.onProcess?.({ group, startedAt: processStartTime(group) ?? null, tag });
          } catch (error) {
            unrecorded = notRecordedReason(error);
          }
          if (unrecorded !== undefined) {
            clearTimeout(timer);
            spawned.cancel();
            return;
          }
          timer.refresh();
          spawned.go();
        },
        failed: (cause) => {
          // The spawner itself died mid-command: nothing reads this command any more.
          if (pid !== undefined) killTree('SIGKILL');
          finish({
            exitCode: null,
            signal: null,
            timedOut,
            aborted,
            transportError: describeSpawnError(cause, base.shell, cwd),
          });
        },
        output: (chunk) => options.onOutput?.(chunk),
        exit: (exitCode, signal) => {
          exited = { exitCode, signal, timedOut, aborted };
          if (outputEnded) {
            finishWhenTreeIsGone(exited);
            return;
          }
          // Background children may still hold stdout open; read what they already wrote, then stop.
          // Output still in the pipe arrives late on a loaded machine: keep reading while nothing of
          // the group is alive (the pipe is about to close), stop once only background children hold it.
          const giveUpAt = Date.now() + KILL_GRACE_MS;
          const checkDrain = () => {
            if (pid !== undefined && !isProcessGroupAlive(pid) && Date.now() < giveUpAt) {
              drain = setTimeout(checkDrain, DRAIN_MS);
              return;
            }
            spawned.close();
            if (exited) finishWhenTreeIsGone(exited);
          };
          drain = setTimeout(checkDrain, DRAIN_MS);
        },
        end: () => {
          outputEnded = true;
          if (exited) {
            clearTimeout(drain);
            finishWhenTreeIsGone(exited);
          }
        },
      },
    );
  });
}

const IN_DIRECTORY: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EACCES: 'permission denied',
};

function describeSpawnError(error: unknown, shell: string, cwd: string): string {
  if ((error as NodeJS.ErrnoException).code === SPAWNER_LOST) {
    return spawnerLostReason('local');
  }
  // Each of these is about the directory as often as the shell, so the line names both.
  const why = IN_DIRECTORY[(error as NodeJS.ErrnoException).code ?? ''];
  if (why !== undefined) return `local: cannot start ${shell} in ${cwd} (${why})`;
  return `local: ${spawnFailureReason(error, shell)}`;
}
