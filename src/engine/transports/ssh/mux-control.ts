// Asks a host's multiplexing master for its pid, or to exit, over its control socket: what
// `ssh -O check` and `ssh -O exit` do, without starting a process for it (see CORE-007,
// multiplexing). The protocol is OpenSSH's own multiplexing protocol, version 4 (`PROTOCOL.mux` in
// OpenSSH's sources): every packet is a uint32 length and a uint32 type, then its body; each side
// first sends a hello with the version, then the client sends one request and the master answers
// it. The master reads exactly one packet at a time, so the hello and the request go together.
import { connect } from 'node:net';

const MUX_MSG_HELLO = 0x0000_0001;
const MUX_VERSION = 4;
const MUX_C_ALIVE_CHECK = 0x1000_0004;
const MUX_C_TERMINATE = 0x1000_0005;
const MUX_S_OK = 0x8000_0001;
const MUX_S_ALIVE = 0x8000_0005;
const REQUEST_ID = 1;
/** A master that does not answer within this is treated as gone. */
const ANSWER_MS = 5_000;

/** The master's pid (MUX_C_ALIVE_CHECK), or undefined when it does not answer as a master. */
export async function askMasterPid(socketPath: string): Promise<number | undefined> {
  const reply = await request(socketPath, MUX_C_ALIVE_CHECK);
  if (reply?.type !== MUX_S_ALIVE || reply.body.length < 12) return undefined;
  return reply.body.readUInt32BE(8);
}

/** Asks the master to exit (MUX_C_TERMINATE); true when it agreed. */
export async function askMasterToExit(socketPath: string): Promise<boolean> {
  const reply = await request(socketPath, MUX_C_TERMINATE);
  return reply?.type === MUX_S_OK;
}

interface Packet {
  readonly type: number;
  /** The packet after its length: the type again, then (in a reply) the client request id, then the rest. */
  readonly body: Buffer;
}

function packet(type: number, ...fields: number[]): Buffer {
  const bytes = Buffer.alloc(8 + 4 * fields.length);
  bytes.writeUInt32BE(4 + 4 * fields.length, 0);
  bytes.writeUInt32BE(type, 4);
  for (const [i, field] of fields.entries()) bytes.writeUInt32BE(field, 8 + 4 * i);
  return bytes;
}

/** Sends hello + one request; resolves with the reply to it, or undefined on anything unexpected. */
function request(socketPath: string, type: number): Promise<Packet | undefined> {
  return new Promise((resolve) => {
    const socket = connect(socketPath);
    let received = Buffer.alloc(0);
    let helloSeen = false;
    const done = (reply: Packet | undefined) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    const timer = setTimeout(() => done(undefined), ANSWER_MS);
    socket.once('error', () => done(undefined));
    socket.once('close', () => done(undefined));
    socket.once('connect', () => {
      socket.write(Buffer.concat([packet(MUX_MSG_HELLO, MUX_VERSION), packet(type, REQUEST_ID)]));
    });
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      while (received.length >= 8) {
        const length = received.readUInt32BE(0);
        if (length < 4 || length > 64 * 1024) return done(undefined);
        if (received.length < 4 + length) return;
        const reply = { type: received.readUInt32BE(4), body: received.subarray(4, 4 + length) };
        received = received.subarray(4 + length);
        if (!helloSeen) {
          if (reply.type !== MUX_MSG_HELLO || reply.body.length < 8 || reply.body.readUInt32BE(4) !== MUX_VERSION) {
            return done(undefined);
          }
          helloSeen = true;
          continue;
        }
        if (reply.body.length >= 8 && reply.body.readUInt32BE(4) === REQUEST_ID) return done(reply);
      }
    });
  });
}
