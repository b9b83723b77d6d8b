// The local transport: `settings.shell -c <command>` on the machine running nixfleet
// (see CORE-001). The shell leads its own process group so a timeout or a kill reaches every
// process the command started, not just the shell.
import { randomBytes } from 'node:crypto';
import { isAbsolute, resolve } from 'node:path';
import { execa } from 'execa';
import { isProcessGroupAlive, signalProcessGroup } from '../../domain/process-group.js';
import { PROCESS_TAG_VARIABLE, signalTaggedProcesses, taggedProcesses } from '../../domain/tagged-processes.js';
import { processStartTime } from '../../store/owner.js';
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { holdGroup, holdTag, releaseGroup, releaseTag } from './lifeline.js';
import { onSpawnFailure, spawnFailureReason, tryStart } from './spawn-failure.js';

/** CORE-001 (TIMEOUT): SIGTERM first, SIGKILL this long after if anything survives. */
export const KILL_GRACE_MS = 5_000;
/** Blocks until nixfleet says go (one line on stdin); end-of-file instead means nixfleet died first. */
const START_GATE = 'read -r _ || exit 125; exec </dev/null';
/** After the shell exits, how often to look whether only background children still hold its output open. */
const DRAIN_MS = 100;

export function createLocalTransport(options: { shell: string; cwd: string }): Transport {
  // process.env is read once per transport: each read of it goes through the runtime, and
  // copying it for every command was a measurable part of a 900-command run (bench/apply).
  const inherited = { ...process.env };
  return {
    exec: (command, execOptions) => execLocal(command, { ...options, inherited }, execOptions),
    close: async () => {},
  };
}

function execLocal(
  command: string,
  base: { shell: string; cwd: string; inherited: NodeJS.ProcessEnv },
  options: ExecOptions,
): Promise<ExecResult> {
  const cwd =
    options.cwd === undefined ? base.cwd : isAbsolute(options.cwd) ? options.cwd : resolve(base.cwd, options.cwd);
  if (options.signal?.aborted) {
    return Promise.resolve({ exitCode: null, signal: null, timedOut: false, aborted: true });
  }
  // CORE-011: what escapes the group (`setsid`) is still found by this tag in its environment.
  const tag = randomBytes(8).toString('hex');
  // `exec 2>&1` first: one pipe keeps stdout and stderr in the order the command wrote them.
  // Then the gate (CORE-011): the shell waits for one line on stdin, which nixfleet writes only
  // once the lifeline holds the group and the journal knows it; a nixfleet killed in between
  // closes the pipe instead and the command never starts. The command itself reads /dev/null.
  const started = tryStart(() =>
    execa(
      base.shell,
      [
        '-c',
        `exec 2>&1
${START_GATE}
${command}`,
      ],
      {
        cwd,
        // CORE-010: secrets travel in the environment, which `ps` does not show to other users.
        env: { ...base.inherited, ...options.env, ...options.privateEnv, [PROCESS_TAG_VARIABLE]: tag },
        extendEnv: false,
        detached: true,
        stdin: 'pipe',
        buffer: false,
        reject: false,
        stripFinalNewline: false,
      },
    ),
  );
  if (!('child' in started)) {
    const transportError = describeSpawnError(started.cause, base.shell, cwd);
    return Promise.resolve({ exitCode: null, signal: null, timedOut: false, aborted: false, transportError });
  }
  const { child } = started;
  // The promise settles through the 'exit'/'error' events below; this only keeps it from being unhandled.
  child.catch(() => {});
  // CORE-011: if nixfleet dies while the command runs, the lifeline kills its group, and the
  // journal knows the group (and its leader's start time) so recovery can tell whether it is gone.
  const pgid = child.pid;
  if (pgid !== undefined) {
    holdGroup(pgid);
    holdTag(tag);
    options.onProcess?.({ group: pgid, startedAt: processStartTime(pgid) ?? null, tag });
  }
  child.stdin?.on('error', () => {});
  child.stdin?.end('\n');

  return new Promise<ExecResult>((settle) => {
    let timedOut = false;
    let aborted = false;
    let forceKill: NodeJS.Timeout | undefined;
    let settled = false;

    const killTree = (signal: NodeJS.Signals) => {
      if (child.pid === undefined) return;
      signalProcessGroup(child.pid, signal);
      signalTaggedProcesses(tag, signal);
      if (signal === 'SIGTERM' && forceKill === undefined) {
        forceKill = setTimeout(() => {
          if (child.pid !== undefined) signalProcessGroup(child.pid, 'SIGKILL');
          signalTaggedProcesses(tag, 'SIGKILL');
        }, KILL_GRACE_MS);
      }
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killTree('SIGTERM');
    }, options.timeoutMs);
    const onAbort = () => {
      aborted = true;
      killTree('SIGKILL');
    };
    options.signal?.addEventListener('abort', onAbort, { once: true });

    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => options.onOutput?.(chunk));
      stream.on('error', () => {});
    }

    const finish = (result: ExecResult) => {
      if (settled) return;
      settled = true;
      if (pgid !== undefined) {
        releaseGroup(pgid);
        releaseTag(tag);
      }
      clearTimeout(timer);
      clearTimeout(forceKill);
      options.signal?.removeEventListener('abort', onAbort);
      settle(result);
    };
    // A timed-out or killed command is over only when its whole tree is gone: children that
    // ignore SIGTERM get the SIGKILL at the end of the grace period (CORE-001).
    // The tree includes what left the group but carries the command's tag (CORE-011).
    const isTreeAlive = (pid: number) => isProcessGroupAlive(pid) || taggedProcesses(tag).length > 0;
    const finishWhenTreeIsGone = (result: ExecResult) => {
      const pid = child.pid;
      if (!(timedOut || aborted) || pid === undefined || !isTreeAlive(pid)) {
        finish(result);
        return;
      }
      // Bounded: a zombie left for a non-reaping init would otherwise look alive forever.
      const giveUpAt = Date.now() + KILL_GRACE_MS + 1_000;
      const poll = setInterval(() => {
        if (isTreeAlive(pid) && Date.now() < giveUpAt) return;
        clearInterval(poll);
        finish(result);
      }, 50);
    };

    const failedToStart = (error: unknown) => {
      finish({
        exitCode: null,
        signal: null,
        timedOut,
        aborted,
        transportError: describeSpawnError(error, base.shell, cwd),
      });
    };
    child.on('error', failedToStart);
    // A spawn Node refuses outright emits no event at all (see spawn-failure.ts).
    onSpawnFailure(child, failedToStart);
    child.on('exit', (exitCode, signal) => {
      const result: ExecResult = { exitCode, signal, timedOut, aborted };
      // Background children may still hold stdout open; read what they already wrote, then stop.
      // Output still in the pipe arrives late on a loaded machine: keep reading while nothing of
      // the group is alive (the pipe is about to close), stop once only background children hold it.
      const giveUpAt = Date.now() + KILL_GRACE_MS;
      const checkDrain = () => {
        const pid = child.pid;
        if (pid !== undefined && !isProcessGroupAlive(pid) && Date.now() < giveUpAt) {
          drain = setTimeout(checkDrain, DRAIN_MS);
          return;
        }
        child.stdout?.destroy();
        child.stderr?.destroy();
        finishWhenTreeIsGone(result);
      };
      let drain = setTimeout(checkDrain, DRAIN_MS);
      let open = [child.stdout, child.stderr].filter((s) => s && !s.readableEnded).length;
      if (open === 0) {
        clearTimeout(drain);
        finishWhenTreeIsGone(result);
        return;
      }
      for (const stream of [child.stdout, child.stderr]) {
        stream?.once('end', () => {
          open--;
          if (open === 0) {
            clearTimeout(drain);
            finishWhenTreeIsGone(result);
          }
        });
      }
    });
  });
}

function describeSpawnError(error: unknown, shell: string, cwd: string): string {
  if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
    return `local: cannot start ${shell} in ${cwd} (no such file or directory)`;
  }
  return `local: ${spawnFailureReason(error, shell)}`;
}
