// `nixfleet logs COMMAND_ID` or `nixfleet logs RUN_ID [--host H]`: stored output, read through the
// journal: the log files under DATA_DIR/logs/, or the database's chunks on PostgreSQL (see CORE-002,
// CORE-003, CORE-012).
import { StringDecoder } from 'node:string_decoder';
import { hostNames } from '../../domain/host-names.js';
import { EXIT, UserError } from '../../errors/user-error.js';
import { JournalError } from '../../store/journal-error.js';
import { outputPieces } from '../../store/output-reader.js';
import type { CommandRecord, Journal } from '../../store/types.js';
import type { CommandContext } from '../command.js';
import { openJournalToRead } from '../read-journal.js';

export const usage = 'logs COMMAND_ID | RUN_ID [--host H]';
export const options = {
  host: { type: 'string', valueName: 'H', description: 'with a run id: only this host' },
} as const;
export const maxPositionals = 1;

export async function run(ctx: CommandContext): Promise<number> {
  const id = ctx.positionals[0];
  if (id === undefined) {
    throw new UserError('logs needs a command id or a run id', { hint: '`nixfleet show RUN_ID` lists command ids' });
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
      else await writeOutput(out, journal, command, sizes, false);
      return EXIT.OK;
    }
    const found = journal.getRun(id);
    if (!found) {
      throw new UserError(`no command or run \`${id}\``, { hint: 'see `nixfleet runs`, then `nixfleet show RUN_ID`' });
    }
    if (host !== undefined && !found.hosts.includes(host) && !host.startsWith('@')) {
      throw new UserError(`run ${id} has no host \`${host}\``, { hint: `its hosts: ${hostNames(found.hosts)}` });
    }
    const commands = journal
      .listCommands({ runId: id, limit: 1_000_000 })
      .filter((c) => host === undefined || c.hostId === host);
    const sizes = storedSizes(journal, commands);
    if (ctx.global.json) {
      await writeJsonEntries(out, journal, commands, sizes, true);
      return EXIT.OK;
    }
    for (const c of commands) {
      const what = c.rollbackOf === null ? c.op : `${c.op} rollback of ${c.rollbackOf}`;
      await out.write(`==> ${c.id} [${c.hostId}] ${what} ${c.status} <==\n`);
      await writeOutput(out, journal, c, sizes, true);
    }
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

function outputWriter(stream: NodeJS.WritableStream): OutputWriter {
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
        const done = () => {
          for (const [event, listener] of [
            ['drain', done],
            ['close', done],
            ['error', done],
          ] as const) {
            stream.off(event, listener);
          }
          resolve();
        };
        stream.once('drain', done).once('close', done).once('error', done);
      });
    },
  };
}

/** A command's stored output, piece by piece; `ended`: make sure it ends with a line break. */
async function writeOutput(
  out: OutputWriter,
  journal: Journal,
  command: CommandRecord,
  sizes: StoredSizes,
  ended: boolean,
) {
  let last = '\n';
  const size = sizes.get(command.id);
  if (size === undefined) {
    // Retention removes old output files; the record says what ran, the output is gone.
    await out.write(goneText(command));
    return;
  }
  for (const piece of outputPieces(journal, command.id, { start: 0, end: size }, PIECE_BYTES)) {
    last = String.fromCharCode(piece[piece.length - 1]!);
    await out.write(piece);
  }
  if (ended && last !== '\n') await out.write('\n');
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
    if (size === undefined) await out.write(JSON.stringify(goneText(command)).slice(1, -1));
    else {
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

const goneText = (command: CommandRecord) => `(output of ${command.id} is no longer stored)\n`;

function entryOf(command: CommandRecord) {
  return {
    commandId: command.id,
    hostId: command.hostId,
    op: command.op,
    status: command.status,
    rollbackOf: command.rollbackOf,
  };
}
