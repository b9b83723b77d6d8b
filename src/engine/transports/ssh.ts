// The ssh transport (see CORE-007 and specs/README.md, decision 5): runs an op's command on a host through
// the system `ssh`, never prompting, with one multiplexed connection per host until `close()`.
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { PROCESS_TAG_VARIABLE } from '../../domain/tagged-processes.js';
import type { Host, Settings } from '../../registry/types.js';
import type { ExecOptions, ExecResult, Transport } from '../types.js';
import { holdProcess, holdTag, releaseProcess, releaseTag } from './lifeline.js';
import { killedInItsFork } from './spawn-failure.js';
import { type ConnectionOptions, type ControlMode, destinationOf, identityFileOf, sshArgs } from './ssh/arguments.js';
import { type ControlSocket, createControlSocket, removeStaleControlDirectories } from './ssh/control-socket.js';
import { describeSshFailure } from './ssh/failure-reason.js';
import { isMasterUp, masterPid, socketListens, startMaster, stopMaster } from './ssh/master.js';
import { stopRemoteGroup } from './ssh/reaper.js';
import { buildRemoteCommand } from './ssh/remote-command.js';
import { secretPreamble } from './ssh/secret-preamble.js';
import { runSession } from './ssh/session.js';

export interface SshTransportOptions {
  /** Parent of the private directory holding this transport's control socket. */
  readonly controlDir: string;
  /** An ssh_config file used instead of the user's and the system's (`ssh -F`); see NIXFLEET_SSH_CONFIG. */
  readonly configFile?: string;
}

/**
 * Once per process and control directory, before its first master: the directories and masters
 * of nixfleet processes that died without `close()` (CORE-007, "Data").
 */
const staleRemoved = new Map<string, Promise<void>>();
function removeStaleOnce(controlDir: string): Promise<void> {
  let removal = staleRemoved.get(controlDir);
  if (removal === undefined) {
    removal = removeStaleControlDirectories(controlDir).catch(() => undefined);
    staleRemoved.set(controlDir, removal);
  }
  return removal;
}

export function createSshTransport(host: Host, settings: Settings, options: SshTransportOptions): Transport {
  const connection: ConnectionOptions = {
    host,
    settings: settings.ssh,
    ...(options.configFile !== undefined ? { configFile: options.configFile } : {}),
  };
  const destination = destinationOf(host);
  let control: ControlSocket | undefined;
  /** The running master's pid, held by the lifeline so it does not outlive nixfleet (CORE-011). */
  let masterProcess: number | undefined;
  /** The running master's tag, held by the lifeline until its pid is (CORE-011, "The ssh master"). */
  let masterTag: string | undefined;
  /** The question for that pid, while it is out. */
  let masterAsked: Promise<void> | undefined;
  // Commands of one host run one at a time, but a shared promise keeps two masters from racing.
  let masterOpening: Promise<ExecResult | undefined> | undefined;

  const openMaster = async (socket: ControlSocket, exec: ExecOptions): Promise<ExecResult | undefined> => {
    // CORE-011, "The ssh master": held by a tag in its environment from before it starts, so
    // that it cannot outlive a nixfleet that dies while it logs in or before its pid is known.
    const tag = randomBytes(8).toString('hex');
    holdTag(tag);
    const started = await startMaster(connection, socket, { timeoutMs: exec.timeoutMs, signal: exec.signal, tag });
    if (started.ok) {
      if (masterProcess !== undefined) releaseProcess(masterProcess);
      masterProcess = undefined;
      if (masterTag !== undefined) releaseTag(masterTag);
      masterTag = tag;
      // Asked beside the first command, not before it: waiting for the answer put a round trip
      // on every host's first command (CORE-007, "Against bare OpenSSH"). Held by its pid once
      // that is known, which lets it remove its socket when nixfleet dies (SIGTERM, not SIGKILL).
      masterAsked = masterPid(socket).then((pid) => {
        if (pid === undefined || control !== socket) return;
        masterProcess = pid;
        holdProcess(pid);
        releaseTag(tag);
        if (masterTag === tag) masterTag = undefined;
      });
      return undefined;
    }
    // A login that got as far as its background master before it failed (its spawner lost, its
    // time up) leaves that master listening: asked to exit before its tag is let go.
    await stopMaster(socket);
    releaseTag(tag);
    if (started.stderr !== '') exec.onOutput?.(started.stderr);
    const failure: ExecResult = {
      exitCode: null,
      signal: null,
      timedOut: started.timedOut,
      aborted: started.aborted,
    };
    if (started.timedOut || started.aborted) return failure;
    return { ...failure, transportError: describeSshFailure(started.stderr, destination, started.exitCode) };
  };

  const exec = async (command: string, execOptions: ExecOptions): Promise<ExecResult> => {
    const startedAt = Date.now();
    if (execOptions.signal?.aborted) return { exitCode: null, signal: null, timedOut: false, aborted: true };
    const identityFile = identityFileOf(host, settings.ssh);
    if (identityFile !== undefined && !existsSync(identityFile)) {
      return {
        exitCode: null,
        signal: null,
        timedOut: false,
        aborted: false,
        transportError: `ssh: identity file ${identityFile} for ${host.id} does not exist`,
      };
    }

    let mode: ControlMode = { kind: 'none' };
    // CORE-009: a fresh connection proves the host still lets nixfleet in; the master would not.
    if (settings.ssh.multiplex && execOptions.fresh !== true) {
      if (!control) await removeStaleOnce(options.controlDir);
      if (!control) {
        try {
          control = createControlSocket(options.controlDir);
        } catch (error) {
          const reason = (error as Error).message.split('\n')[0];
          return { exitCode: null, signal: null, timedOut: false, aborted: false, transportError: `ssh: ${reason}` };
        }
      }
      const socket = control;
      // A master being opened is waited for, not looked at: its socket may not listen yet.
      if (masterOpening === undefined && !(await isMasterUp(socket))) {
        masterOpening ??= openMaster(socket, execOptions).finally(() => {
          masterOpening = undefined;
        });
      }
      const failure = await masterOpening;
      if (failure) return failure;
      mode = { kind: 'client', socketPath: socket.socketPath };
    }

    // Connecting used the whole budget: starting the command only to kill it would be worse.
    if (execOptions.timeoutMs - (Date.now() - startedAt) <= 0) {
      return { exitCode: null, signal: null, timedOut: true, aborted: false };
    }
    const startToken = `nixfleet-start-${randomBytes(8).toString('hex')}`;
    // CORE-011: what the command moves out of its group (`setsid`) still carries this tag.
    const tag = randomBytes(8).toString('hex');
    const remoteCommand = buildRemoteCommand({
      command,
      env: { ...execOptions.env, [PROCESS_TAG_VARIABLE]: tag },
      tag,
      cwd: execOptions.cwd,
      shell: settings.shell,
      startToken,
      ...(execOptions.privateEnv !== undefined ? { privateEnv: execOptions.privateEnv } : {}),
    });
    const sessionMode = mode;
    const session = () =>
      runSession({
        args: sshArgs(connection, sessionMode, remoteCommand),
        startToken,
        ...(execOptions.privateEnv !== undefined && Object.keys(execOptions.privateEnv).length > 0
          ? { input: secretPreamble(execOptions.privateEnv) }
          : {}),
        destination,
        exec: execOptions,
        timeoutMs: execOptions.timeoutMs - (Date.now() - startedAt),
        stopRemote: (pgid, first) => stopRemoteGroup(connection, sessionMode, pgid, first, tag),
        ...(sessionMode.kind === 'client' ? { isConnectionUp: () => socketListens(sessionMode.socketPath) } : {}),
      });
    const result = await session();
    // Killed while it was being forked, so it ran nothing: started again, once (CORE-011).
    if (result.transportError !== undefined && killedInItsFork(result.signal) && !execOptions.signal?.aborted) {
      return session();
    }
    return result;
  };

  return {
    exec,
    close: async () => {
      const socket = control;
      control = undefined;
      if (!socket) return;
      await masterAsked;
      await stopMaster(socket);
      if (masterProcess !== undefined) releaseProcess(masterProcess);
      masterProcess = undefined;
      if (masterTag !== undefined) releaseTag(masterTag);
      masterTag = undefined;
      socket.remove();
    },
  };
}
