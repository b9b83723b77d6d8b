// `nixfleet logs COMMAND_ID` or `nixfleet logs RUN_ID [--host H]`: stored output, read through the
// journal: the log files under DATA_DIR/logs/, or the database's chunks on PostgreSQL (see CORE-002,
// CORE-003, CORE-012). Into a file or a pipe the output is written byte for byte; to a terminal its
// control characters are shown, not obeyed; under GitHub Actions workflow commands in it are inert
// (CORE-002, `logs` and hostile output).

import { randomBytes } from 'node:crypto';
import { StringDecoder } from 'node:string_decoder';
import { hostNames } from '../../domain/host-names.js';
import { nixfleetCommand } from '../../domain/nixfleet-command.js';
import type { OutputStream } from '../../domain/output-stream.js';
import { SGR_PARAMETERS_MAX, shownOnTerminal, visibleControls } from '../../domain/terminal-text.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { CONTROLLER_HOST_ID } from '../../registry/types.js';
import { JournalError } from '../../store/journal-error.js';
import { outputOutsideText, outputPieces } from '../../store/output-reader.js';
import type { CommandRecord, Journal } from '../../store/types.js';
import type { CliIO, CommandContext } from '../command.js';
import { openJournalToRead } from '../read-journal.js';

export const usage = 'logs COMMAND_ID | RUN_ID [--host H]';
export const options = {
  host: { type: 'string', valueName: 'H', description: 'with a run id: only this host' },
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  if (id === undefined) {
    throw new UserError('logs needs a command id or a run id', {
      hint: `\`${nixfleetCommand('show RUN_ID', ctx.global)}\` lists command ids`,
    });
  }
  const host = typeof ctx.values.host === 'string' ? ctx.values.host : undefined;
  const journal = await openJournalToRead(ctx);
  const out = outputWriter(ctx.io.stdout);
  try {
    const command = journal.getCommand(id);
    if (command) {
      if (host !== undefined) throw new UserError('--host goes with a run id, not a command id');
      const sizes = storedSizes(journal, [command]);
      if (ctx.global.json) await writeJsonEntries(out, journal, [command], sizes, false);
      else {
        const text = outputText(out, ctx.io, ctx.global.color);
        await inertToGitHub(text, ctx.io, () => writeOutput(text, journal, command, sizes, false));
      }
      return EXIT.OK;
    }
    const found = journal.getRun(id);
    if (!found) {
      throw new UserError(`no command or run \`${id}\``, {
        hint: `see \`${nixfleetCommand('runs', ctx.global)}\`, then \`${nixfleetCommand('show RUN_ID', ctx.global)}\``,
      });
    }
    const all = journal.listCommands({ runId: id, limit: 1_000_000 });
    if (host !== undefined && !found.hosts.includes(host) && !host.startsWith('@')) {
      // The recap calls the controller's row `controller`; here it is `@controller` (CORE-002).
      const controller = all.some((c) => c.hostId === CONTROLLER_HOST_ID)
        ? `; its controller ops: ${CONTROLLER_HOST_ID}`
        : '';
      throw new UserError(`run ${id} has no host \`${host}\``, {
        hint: `its hosts: ${hostNames(found.hosts)}${controller}`,
      });
    }
    const commands = all.filter((c) => host === undefined || c.hostId === host);
    const sizes = storedSizes(journal, commands);
    if (ctx.global.json) {
      await writeJsonEntries(out, journal, commands, sizes, true);
      return EXIT.OK;
    }
    const text = outputText(out, ctx.io, ctx.global.color);
    await inertToGitHub(text, ctx.io, async () => {
      for (const c of commands) {
        const what = c.rollbackOf === null ? c.op : `${c.op} rollback of ${c.rollbackOf}`;
        await text.line(`==> ${c.id} [${c.hostId}] ${what} ${c.status} <==\n`);
        await writeOutput(text, journal, c, sizes, true);
      }
    });
    return EXIT.OK;
  } finally {
    journal.close();
  }
}

/** Bytes of output read from the journal at a time: an output of any size is never held whole. */
const PIECE_BYTES = 1024 * 1024;

interface OutputWriter {
  /** Resolves once the stream can take more (or is gone: what is left is dropped, see main.ts). */
  write(chunk: string | Buffer): Promise<void>;
}

function outputWriter(stream: OutputStream): OutputWriter {
  let gone = false;
  const stop = () => {
    gone = true;
  };
  stream.once('close', stop);
  stream.once('error', stop);
  return {
    async write(chunk) {
      if (gone || stream.write(chunk)) return;
      await new Promise<void>((resolve) => {
        const events = ['drain', 'close', 'error'] as const;
        const done = () => {
          for (const event of events) stream.off(event, done);
          resolve();
        };
        for (const event of events) stream.once(event, done);
      });
    },
  };
}

/** Stored output and the lines around it, as they reach stdout. */
interface OutputText {
  /** A line of nixfleet's own (a header); on a terminal with its control characters shown. */
  line(text: string): Promise<void>;
  /** The next piece of one command's output. */
  piece(chunk: Buffer): Promise<void>;
  /** That output ended: what was held back of it goes out, and its colours are reset. */
  endOutput(): Promise<void>;
  /** Whether what was written last ends a line (true before anything is written). */
  readonly endsLine: boolean;
}

/**
 * What a piece's end may cut and the next piece may finish: an ESC, a colour's `ESC [ params` (no
 * longer than a colour can be: an `ESC [` followed by endless digits was held whole, piece after
 * piece, until `logs` ran out of memory), a CR that may start a CRLF.
 */
const UNFINISHED = new RegExp(`(?:\\u001b(?:\\[[0-9;:]{0,${SGR_PARAMETERS_MAX}})?|\\r)$`);

/**
 * Into a file or a pipe, the bytes as the journal holds them (people keep them in files). On a
 * terminal, through `shownOnTerminal` (CORE-002): the output comes from hosts, and an OSC, a
 * clear-screen or a cursor move in it would otherwise act on the reader's terminal. Text is
 * decoded across pieces, and an escape sequence or CRLF cut by a piece's end waits for the next.
 */
function outputText(out: OutputWriter, io: CliIO, colour: boolean): OutputText {
  const terminal = io.stdout.isTTY === true;
  let decoder = new StringDecoder('utf8');
  let held = '';
  let coloured = false;
  let endsLine = true;
  const send = async (text: string | Buffer) => {
    if (text.length === 0) return;
    endsLine = text[text.length - 1] === (typeof text === 'string' ? '\n' : 0x0a);
    await out.write(text);
  };
  const shown = (text: string) => {
    const safe = shownOnTerminal(text, colour);
    if (safe.includes('\u001b')) coloured = true;
    return safe;
  };
  return {
    line: (text) => send(terminal ? visibleControls(text.slice(0, -1)) + text.slice(-1) : text),
    async piece(chunk) {
      if (!terminal) return send(chunk);
      const text = held + decoder.write(chunk);
      const cut = UNFINISHED.exec(text)?.index ?? text.length;
      held = text.slice(cut);
      await send(shown(text.slice(0, cut)));
    },
    async endOutput() {
      if (!terminal) return;
      await send(shown(held + decoder.end()));
      held = '';
      decoder = new StringDecoder('utf8');
      // A colour left on would colour the next header and the shell prompt after nixfleet.
      if (coloured) await out.write('\u001b[0m');
      coloured = false;
    },
    get endsLine() {
      return endsLine;
    },
  };
}

/**
 * Under GitHub Actions, the runner takes a line of a step's log that starts with `::` (or `##[`)
 * for a workflow command, so a host's `::error::` or `::add-mask::` line would act. Everything
 * `logs` writes goes between `::stop-commands::TOKEN` and `::TOKEN::`, TOKEN random per call: the
 * runner's own way to print untrusted text, which keeps the output's bytes as they are (CORE-002).
 */
async function inertToGitHub(text: OutputText, io: CliIO, write: () => Promise<void>): Promise<void> {
  if (io.env.GITHUB_ACTIONS !== 'true') return write();
  const token = randomBytes(16).toString('hex');
  await text.line(`::stop-commands::${token}\n`);
  try {
    await write();
  } finally {
    await text.line(`${text.endsLine ? '' : '\n'}::${token}::\n`);
  }
}

/** A command's stored output, piece by piece; `ended`: make sure it ends with a line break. */
async function writeOutput(
  text: OutputText,
  journal: Journal,
  command: CommandRecord,
  sizes: StoredSizes,
  ended: boolean,
) {
  const size = sizes.get(command.id);
  if (size === undefined || command.outputOutside !== undefined) {
    await text.line(notStoredText(command));
    return;
  }
  for (const piece of outputPieces(journal, command.id, { start: 0, end: size }, PIECE_BYTES)) {
    await text.piece(piece);
  }
  await text.endOutput();
  if (ended && !text.endsLine) await text.line('\n');
}

/**
 * The same JSON as `JSON.stringify` of the entries (an array pretty-printed, or one entry on one
 * line), written with each output streamed into its string: a large output never makes one
 * string of it, which Node cannot hold past about 512 MB.
 */
async function writeJsonEntries(
  out: OutputWriter,
  journal: Journal,
  commands: readonly CommandRecord[],
  sizes: StoredSizes,
  array: boolean,
) {
  if (array && commands.length === 0) {
    await out.write('[]\n');
    return;
  }
  const MARK = 'NIXFLEET-OUTPUT-MARK';
  for (const [index, command] of commands.entries()) {
    const entry = { ...entryOf(command), output: MARK };
    const text = array ? JSON.stringify([entry], null, 2).slice(2, -2) : JSON.stringify(entry);
    const [head, tail] = text.split(`"${MARK}"`) as [string, string];
    await out.write(`${array ? (index === 0 ? '[\n' : ',\n') : ''}${head}"`);
    const size = sizes.get(command.id);
    if (size === undefined || command.outputOutside !== undefined) {
      await out.write(JSON.stringify(notStoredText(command)).slice(1, -1));
    } else {
      const decoder = new StringDecoder('utf8');
      for (const piece of outputPieces(journal, command.id, { start: 0, end: size }, PIECE_BYTES)) {
        await out.write(JSON.stringify(decoder.write(piece)).slice(1, -1));
      }
      await out.write(JSON.stringify(decoder.end()).slice(1, -1));
    }
    await out.write(`"${tail}`);
  }
  await out.write(array ? '\n]\n' : '\n');
}

/** By command id: the stored output's size in bytes, 0 when there is none, undefined when retention removed it. */
type StoredSizes = ReadonlyMap<string, number | undefined>;

/**
 * Every output's size, before anything is written: an output file that is there but cannot be
 * read (a directory, no permission) is refused with its JournalError (exit 2, CORE-003), not
 * found half-way through the text or a JSON document.
 */
function storedSizes(journal: Journal, commands: readonly CommandRecord[]): StoredSizes {
  return new Map(commands.map((command) => [command.id, storedSize(journal, command)]));
}

function storedSize(journal: Journal, command: CommandRecord): number | undefined {
  if (command.outputFile === null) return 0;
  try {
    journal.readOutput(command.id, { start: 0, end: 0 });
    return journal.outputSize(command.id);
  } catch (error) {
    if (error instanceof JournalError && error.kind === 'unusable') throw error;
    return undefined;
  }
}

/**
 * Printed in place of an output that cannot be shown: retention removed its file (the record says
 * what ran, the output is gone), or the journal names a file outside the data directory's `logs/`,
 * which is never read (CORE-003; `logs` used to print nothing at all for it).
 */
function notStoredText(command: CommandRecord): string {
  if (command.outputOutside === undefined) return `(output of ${command.id} is no longer stored)\n`;
  return `(${outputOutsideText(command.id, visibleControls(command.outputOutside))})\n`;
}

function entryOf(command: CommandRecord) {
  return {
    commandId: command.id,
    hostId: command.hostId,
    op: command.op,
    status: command.status,
    rollbackOf: command.rollbackOf,
  };
}
