// nixfleet's end of the Python and Perl spawners (spawner.py, spawner.pl; see CORE-001, "The
// spawner process"): the same requests and replies as the Node spawner's IPC messages
// (protocol.ts), carried as length-prefixed frames on the spawner's stdin and stdout.
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants as fsConstants } from 'node:fs';
import type { Socket } from 'node:net';
import { constants } from 'node:os';
import { delimiter, isAbsolute, join } from 'node:path';
import { inheritedEnvironment } from '../../command-environment.js';
import type { SpawnerLink, SpawnerReply, SpawnerRequest } from './protocol.js';

/** By number; the first of two names for one signal (SIGABRT, not SIGIOT), as Node reports it. */
const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals)
    .reverse()
    .map(([name, number]) => [number, name]),
);
const NO_EXIT_CODE = 0xffffffff;
const REQUEST_TYPES = { start: 'S', go: 'G', feed: 'F', cancel: 'C', close: 'X' } as const;

/**
 * A request as one frame: its length (4 bytes, big-endian), its type letter, then its fields,
 * each number 4 bytes and each string its UTF-8 length and bytes. Written into one buffer, sized
 * first: this is on the path of every command (CORE-001).
 */
function encodeRequest(request: SpawnerRequest): Buffer {
  if (request.t === 'feed') {
    const frame = Buffer.allocUnsafe(9 + Buffer.byteLength(request.input));
    frame.write(request.input, 9);
    return head(frame, request);
  }
  if (request.t !== 'start') return head(Buffer.allocUnsafe(9), request);
  const env = Object.entries(request.env);
  // After the mode letter, in this order; each number counts what follows it (args, env pairs).
  const fields: (string | number)[] = [request.file, request.cwd, request.args.length, ...request.args, env.length];
  for (const [name, value] of env) fields.push(name, value);
  if (request.stderrTo !== undefined) fields.push(request.stderrTo);
  let size = 10;
  for (const field of fields) size += typeof field === 'number' ? 4 : 4 + Buffer.byteLength(field);
  const frame = head(Buffer.allocUnsafe(size), request);
  let at = frame.write(request.stderrTo !== undefined ? 'L' : request.split ? 'P' : 'M', 9, 'latin1') + 9;
  for (const field of fields) {
    if (typeof field === 'number') {
      at = frame.writeUInt32BE(field, at);
    } else {
      const length = frame.write(field, at + 4);
      frame.writeUInt32BE(length, at);
      at += 4 + length;
    }
  }
  return frame;
}

/** Writes a frame's length, its type letter and the request's id into its first 9 bytes. */
function head(frame: Buffer, request: SpawnerRequest): Buffer {
  frame.writeUInt32BE(frame.length - 4, 0);
  frame.write(REQUEST_TYPES[request.t], 4, 'latin1');
  frame.writeUInt32BE(request.id, 5);
  return frame;
}

/** Reads the spawner's frames from its stdout as replies; output stays the bytes it came as. */
function replyReader(onReply: (reply: SpawnerReply) => void): (chunk: Buffer) => void {
  let pending: Buffer = Buffer.alloc(0);
  const decode = (reply: Buffer): SpawnerReply => {
    const type = String.fromCharCode(reply[0] as number);
    const id = reply.readUInt32BE(1);
    const rest = reply.subarray(5);
    switch (type) {
      case 's':
        return { t: 'spawned', id, pid: rest.readUInt32BE(0) };
      case 'f': {
        const code = rest.toString('latin1');
        // Worded as Node's spawn words it, which spawn-failure.ts recognises.
        const message =
          code === 'ERR_INVALID_ARG_VALUE' ? 'an argument must be a string without null bytes' : `spawn ${code}`;
        return { t: 'failed', id, code, message };
      }
      case 'o':
        return { t: 'out', id, chunk: rest };
      case 'r':
        return { t: 'out', id, chunk: rest, stderr: true };
      case 'e': {
        const code = rest.readUInt32BE(0);
        const signal = rest.readUInt32BE(4);
        return {
          t: 'exit',
          id,
          code: code === NO_EXIT_CODE ? null : code,
          signal: signal === 0 ? null : (SIGNAL_NAMES.get(signal) ?? `SIG${signal}`),
        };
      }
      default:
        // 'd': the output ended.
        return { t: 'end', id };
    }
  };
  return (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    let offset = 0;
    while (pending.length - offset >= 4) {
      const length = pending.readUInt32BE(offset);
      if (pending.length - offset - 4 < length) break;
      const reply = decode(pending.subarray(offset + 4, offset + 4 + length));
      offset += 4 + length;
      if (reply.t !== 'out' || reply.chunk.length > 0) onReply(reply);
    }
    pending = pending.subarray(offset);
  };
}

/**
 * The executable files named `name` in PATH's absolute directories (never one in the working
 * directory), in PATH's order.
 */
export function* onPath(name: string): Generator<string> {
  for (const dir of (process.env.PATH ?? '').split(delimiter).filter((entry) => isAbsolute(entry))) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, fsConstants.X_OK);
      yield candidate;
    } catch {
      // Not here.
    }
  }
}

/** The first executable `name` on PATH (`onPath`), or null. */
export function findOnPath(name: string): string | null {
  for (const candidate of onPath(name)) return candidate;
  return null;
}

/**
 * Starts `program args` (an interpreter and its spawner script) in a session of its own (a
 * terminal's Ctrl-C is nixfleet's to act on), with requests on its stdin and replies on its stdout.
 */
export function startFrameLink(program: string, args: readonly string[]): SpawnerLink {
  const child = spawn(program, args, {
    detached: true,
    stdio: ['pipe', 'pipe', 'inherit'],
    env: inheritedEnvironment(),
  });
  // Out of file descriptors (EMFILE) the pipes are never made, and the spawn's 'error' follows:
  // the link is gone from the start, and its commands fail with that error (spawner-client.ts).
  if (!child.stdin || !child.stdout) return goneLink(child);
  // Piped stdio is a socket, which can be kept from holding the event loop like the process.
  const stdin = child.stdin as Socket;
  const stdout = child.stdout as Socket;
  stdin.on('error', () => {});
  let queued: Buffer[] = [];
  const flush = () => {
    if (queued.length === 0) return;
    const frames = queued;
    queued = [];
    stdin.write(frames.length === 1 ? (frames[0] as Buffer) : Buffer.concat(frames));
  };
  return {
    pid: child.pid,
    send: (request) => {
      // What one turn of the event loop asks goes down in one write: a write per request woke the
      // spawner once for each, and was the largest cost per command on nixfleet's side (CORE-001).
      if (queued.length === 0) setImmediate(flush);
      queued.push(encodeRequest(request));
    },
    connected: () => stdin.writable,
    hold: (held) => {
      for (const handle of [child, stdin, stdout]) {
        if (held) handle.ref();
        else handle.unref();
      }
    },
    end: () => {
      flush();
      stdin.end();
    },
    onReply: (listener) => stdout.on('data', replyReader(listener)),
    onGone: (listener) => {
      child.on('exit', listener);
      child.on('error', listener);
    },
  };
}

/** A link whose process never started: it carries nothing, and `onGone` hears the spawn's error. */
function goneLink(child: ChildProcess): SpawnerLink {
  return {
    pid: undefined,
    send: () => {},
    connected: () => false,
    hold: () => {},
    end: () => {},
    onReply: () => {},
    onGone: (listener) => {
      child.on('error', listener);
    },
  };
}
