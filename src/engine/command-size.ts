// A command travels as one argument: on an ssh host the remote line of
// transports/ssh/remote-command.ts, which ssh gets in its argv and the host's login shell gets
// after `-c` (CORE-007); on a local host the script its shell gets after `-c` (transports/local.ts,
// CORE-001). Linux refuses one longer than MAX_ARGUMENT_BYTES (E2BIG), and it failed only when the
// run reached that command, maybe after other hosts had changed. The plan refuses it instead,
// before anything runs, naming the op, the host, the size and the fix. An armed rollback (CORE-009)
// reaches the host inside the timer's script (armed-timer.ts, `armScript`), quoted, as the op's
// first command: that script is what is measured for it. With rollbacks off (`--no-rollback`,
// CORE-009) the plan renders no rollback, so none is measured.
import { secretVariable } from '../config/secret-reference.js';
import { MAX_ARGUMENT_BYTES } from '../domain/environment-limits.js';
import { PROCESS_TAG_VARIABLE } from '../domain/tagged-processes.js';
import { UserError } from '../errors/user-error.js';
import { CONTROLLER_HOST_ID, type Registry } from '../registry/types.js';
import {
  armScript,
  LONGEST_JOURNAL_ID,
  ownerLine,
  TIMER_NONCE_BYTES,
  type TimerSpec,
  timerName,
  timerOwner,
} from './armed-timer.js';
import { localScript } from './process-record.js';
import { secretVariables } from './secrets/secret-variables.js';
import { buildRemoteCommand } from './transports/ssh/remote-command.js';
import type { PlannedStage, RenderedCommand } from './types.js';

const FIELDS = ['run', 'precheck', 'postcheck', 'rollback'] as const;

// What the run adds at exec time (op-runner.ts, transports/ssh.ts), as long as it may get: ids
// of twenty characters, a tag and a token as the transport makes them.
const RUN_ID = `r${'9'.repeat(19)}`;
const COMMAND_ID = `c${'9'.repeat(19)}`;
const TAG = 'f'.repeat(16);
const START_TOKEN = `nixfleet-start-${'f'.repeat(16)}`;
const TIMER_NAME = timerName(RUN_ID, COMMAND_ID, 'f'.repeat(2 * TIMER_NONCE_BYTES));
// The timer's script with nothing of the op's in it; its delay's digits are at most 16 more.
const ARM_SCRIPT_FIXED =
  Buffer.byteLength(
    armScript(TIMER_NAME, {
      delayMs: 1000,
      shell: '',
      rollback: '',
      owner: timerOwner('', '', ''),
      secretVariables: [],
    }),
  ) + 16;

/** Secrets come on stdin (CORE-010): only their names are in the line. */
function privateNamesOf(rendered: RenderedCommand): string[] {
  return [...(rendered.secrets ?? []).map(secretVariable), ...Object.keys(rendered.secretEnv ?? {})];
}

/** The bytes of the remote line for `command` of `rendered`, with its NUL. */
export function sshLineBytes(command: string, rendered: RenderedCommand, shell: string): number {
  const privateNames = privateNamesOf(rendered);
  const line = buildRemoteCommand({
    command,
    env: { ...rendered.env, NIXFLEET_RUN_ID: RUN_ID, NIXFLEET_COMMAND_ID: COMMAND_ID, [PROCESS_TAG_VARIABLE]: TAG },
    tag: TAG,
    ...(rendered.cwd !== undefined ? { cwd: rendered.cwd } : {}),
    shell,
    startToken: START_TOKEN,
    privateEnv: Object.fromEntries(privateNames.map((name) => [name, ''])),
  });
  return Buffer.byteLength(line) + 1;
}

/**
 * At least the bytes of sshLineBytes, counted without building the line: quoting makes a byte at
 * most four (`'` is `'\''`), and the fixed parts (start gate, lifeline, start and end lines, secret
 * reader) are under 8 KiB. Building every line of a large fleet's plan took 20 µs a command.
 */
function upperBound(commandBytes: number, rendered: RenderedCommand, shell: string): number {
  let bytes = commandBytes + Buffer.byteLength(shell) + Buffer.byteLength(rendered.cwd ?? '');
  for (const [name, value] of Object.entries(rendered.env)) bytes += name.length + Buffer.byteLength(value) + 1;
  bytes += RUN_ID.length + COMMAND_ID.length + TAG.length + 3 * 32;
  const privateNames = privateNamesOf(rendered);
  for (const name of privateNames) bytes += 4 * name.length + 16;
  return 4 * bytes + 8 * 1024;
}

/** The bytes of the argument that starts `command` on this host, with its NUL. */
function argumentBytes(ssh: boolean, command: string, rendered: RenderedCommand, shell: string): number {
  if (!ssh) return Buffer.byteLength(localScript(command)) + 1;
  // Building every line of a large fleet's plan took 20 µs a command: only near the limit.
  if (upperBound(Buffer.byteLength(command), rendered, shell) <= MAX_ARGUMENT_BYTES) return 0;
  return sshLineBytes(command, rendered, shell);
}

/**
 * The bytes of the argument that arms the timer of `spec.rollback` on this host (rollback.ts,
 * `arm`): the timer's script, with the rollback, the owner (three times: its own, the one an older
 * nixfleet wrote, and in the file), the shell and the secrets' variable names quoted in it, started
 * as any command of the op is. Zero when it is surely under the limit: quoting makes a byte at
 * most four.
 */
function armedArgumentBytes(ssh: boolean, spec: TimerSpec, rendered: RenderedCommand): number {
  const { rollback, owner, shell } = spec;
  const names = spec.secretVariables.reduce((sum, name) => sum + name.length + 1, 0);
  const script =
    ARM_SCRIPT_FIXED +
    4 * (Buffer.byteLength(rollback) + 3 * Buffer.byteLength(ownerLine(owner)) + 2 * Buffer.byteLength(shell) + names);
  const bound = ssh ? upperBound(script, rendered, shell) : script + LOCAL_GATE_BYTES;
  if (bound <= MAX_ARGUMENT_BYTES) return 0;
  return argumentBytes(ssh, armScript(TIMER_NAME, spec), rendered, shell);
}
const LOCAL_GATE_BYTES = Buffer.byteLength(localScript('')) + 1;

/** Throws a UserError (exit 2) when a command of `stages` is too long to start on its host. */
export function refuseOverlongCommands(registry: Registry, stages: readonly PlannedStage[]): void {
  const over: { op: string; field: string; armed: boolean; hostId: string; bytes: number; ssh: boolean }[] = [];
  const { shell } = registry.settings;
  const variables = secretVariables(registry);
  for (const stage of stages) {
    for (const { rendered, hostId } of stage.commands) {
      // The controller's commands (CORE-001) and local hosts start the same way.
      const ssh = hostId !== CONTROLLER_HOST_ID && registry.hosts.get(hostId)?.transport === 'ssh';
      for (const field of FIELDS) {
        const command = rendered[field];
        if (command === undefined) continue;
        // CORE-009: an armed rollback is sent inside the timer's script, which is longer than the
        // rollback alone (nixfleet may also run the rollback itself, a shorter line of the same
        // host). No journal is open at plan time: an id as long as any stands for the run's.
        const armedMs = field === 'rollback' ? stage.op.rollback?.armedMs : undefined;
        const bytes =
          armedMs === undefined
            ? argumentBytes(ssh, command, rendered, shell)
            : armedArgumentBytes(
                ssh,
                {
                  delayMs: armedMs,
                  shell,
                  rollback: command,
                  owner: timerOwner(hostId, stage.op.id, LONGEST_JOURNAL_ID),
                  secretVariables: variables,
                },
                rendered,
              );
        if (bytes > MAX_ARGUMENT_BYTES) {
          over.push({ op: stage.op.id, field, armed: armedMs !== undefined, hostId, bytes, ssh });
        }
      }
    }
  }
  const first = over[0];
  if (first === undefined) return;
  const more = over.length > 1 ? ` (and ${over.length - 1} more command(s) of this run)` : '';
  const what = first.ssh ? 'an ssh command line' : 'a shell script';
  const who = first.ssh ? 'ssh' : 'the shell';
  const its = first.armed
    ? "its armed `rollback`, quoted inside the script that arms the host's timer,"
    : `its \`${first.field}\``;
  const where = first.ssh ? ' on the host' : '';
  const fix = first.armed
    ? `put the long part of the rollback in a script${where} and run that from \`${first.op}\`'s rollback, or shorten the rollback (armed, it travels quoted in the timer's script${first.ssh ? ", with the op's env and the host's vars" : ''})`
    : first.ssh
      ? `put the long part in a script on the host and run that from \`${first.op}\`, or shorten the command (its env and the host's vars travel in the same line)`
      : `put the long part in a script and run that from \`${first.op}\`, or shorten the command`;
  throw new UserError(
    `op \`${first.op}\` on \`${first.hostId}\`: ${its} makes ${what} of ${first.bytes} bytes, more than the ${MAX_ARGUMENT_BYTES} (128 KiB) Linux lets one argument be, so ${who} could not start it${more}; nothing was run`,
    { hint: fix },
  );
}
