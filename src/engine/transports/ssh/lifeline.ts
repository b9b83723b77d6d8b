// The remote half of the lifeline (see CORE-011). Standard input of the ssh session is a pipe that
// only nixfleet writes and never closes while the command runs; the remote side keeps reading it,
// and end-of-file means nixfleet is gone (killed, even by SIGKILL, or its connection lost): the
// command's whole process group is then killed on the host.
//
// The stdin contract of a remote command: the start gate's line (remote-command.ts), then an
// optional preamble the remote line reads before anything else, then nothing: the channel stays
// open until the command ends, and end-of-file while it runs kills it. The op's own command never
// sees this channel: its standard input is /dev/null.
import { TAG_KILL_PASSES, TAG_KILL_QUIET_PASSES } from '../../../domain/tagged-processes.js';

/**
 * A shell fragment for the remote line, after the start line and any preamble, before the `cd`
 * and the `exec` of the op's shell. It moves stdin to fd 3, forks a watcher that reads fd 3 to
 * end-of-file, and closes fd 3 again so the command does not inherit it. At end-of-file the
 * watcher kills its own process group (`kill 0`: sshd made `$$` a session and group leader, and
 * without job control the watcher stays in it), but only while `$$` (the op's shell, after
 * `exec`) still runs: a command that ended normally closes the session, and whatever it left in
 * the background on purpose is left alone, as with the local transport.
 */
export function remoteLifeline(tag?: string): string {
  const killAll = tag === undefined ? 'kill -KILL -$$' : `{ ${signalTagged(tag, 'KILL')} kill -KILL -$$; }`;
  return `exec 3<&0 </dev/null; (while read -r _; do :; done <&3; kill -0 $$ 2>/dev/null && ${killAll}) >/dev/null 2>&1 & exec 3<&-;`;
}

/**
 * Signals every process on the host whose environment holds NIXFLEET_PROCESS_TAG=<tag>: what the
 * command moved out of its group (`setsid`). Linux `/proc` only; elsewhere the glob matches
 * nothing readable and nothing is signalled. The watcher itself does not carry the tag: it is set
 * by the `env` that starts the op's shell. SIGKILL goes pass after pass until TAG_KILL_QUIET_PASSES
 * passes in a row find none, at most TAG_KILL_PASSES passes: what they fork during one pass escapes
 * it (CORE-011).
 */
export function signalTagged(tag: string, signal: 'TERM' | 'KILL'): string {
  if (!/^[0-9a-f]+$/.test(tag)) throw new RangeError(`not a process tag: ${tag}`);
  // One `grep` reads every environ of a pass (a process per /proc entry made a pass take seconds
  // on a loaded host, while what it was after kept forking). `cd /proc` keeps the list short.
  const pass = (found: string) =>
    `for e in $(cd /proc 2>/dev/null && grep -lsF 'NIXFLEET_PROCESS_TAG=${tag}' [0-9]*/environ); do kill -${signal} "\${e%/environ}" 2>/dev/null${found}; done;`;
  if (signal === 'TERM') return pass('');
  return `n=0 q=0; while [ $n -lt ${TAG_KILL_PASSES} ] && [ $q -lt ${TAG_KILL_QUIET_PASSES} ]; do n=$((n+1)) q=$((q+1)); ${pass(' && q=0')} done;`;
}
