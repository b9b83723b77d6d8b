// WebSocket text frames, encoded once and written as is to every client (see CORE-004, fan-out).
// Server-to-client frames are never masked (RFC 6455 §5.1), so the same bytes are valid on every
// connection; the layout is RFC 6455 §5.2: FIN + RSV1 + opcode, then the payload length in 7,
// 7+16 or 7+64 bits.
import { constants, deflateRawSync } from 'node:zlib';

const FIN_TEXT = 0x81;
/** RSV1 marks a message compressed with permessage-deflate (RFC 7692 §6). */
const RSV1 = 0x40;
/** What a sync flush ends with; RFC 7692 §7.2.1 has the sender remove it. */
const SYNC_FLUSH_TAIL = 4;

export function encodeTextFrame(text: string): Buffer {
  return frame(FIN_TEXT, Buffer.from(text, 'utf8'));
}

/**
 * The same message compressed on its own, with no dictionary carried over from earlier messages.
 * Valid for every client that negotiated permessage-deflate with server_no_context_takeover and a
 * full window, which is what lets one compression serve all of them (sync-server.ts negotiates
 * only that).
 */
export function encodeDeflatedTextFrame(text: string): Buffer {
  const deflated = deflateRawSync(Buffer.from(text, 'utf8'), {
    level: 1,
    finishFlush: constants.Z_SYNC_FLUSH,
  });
  return frame(FIN_TEXT | RSV1, deflated.subarray(0, deflated.length - SYNC_FLUSH_TAIL));
}

/**
 * The long start of a message, encoded once and shared by every send of it: the text as is, or
 * compressed on its own and ended with a whole sync flush, so that a separately compressed end can
 * follow it in the same message (`frameWithEnd`).
 */
export interface MessageStart {
  readonly deflated: boolean;
  readonly bytes: Buffer;
}

export function encodeMessageStart(text: string, deflated: boolean): MessageStart {
  const bytes = Buffer.from(text, 'utf8');
  if (!deflated) return { deflated, bytes };
  return { deflated, bytes: deflateRawSync(bytes, { level: 1, finishFlush: constants.Z_SYNC_FLUSH }) };
}

/**
 * One frame of `start` followed by `end`, as the parts to write in order: the header, the shared
 * start (never copied), and the end encoded now. Compressed, the payload is two deflate streams
 * back to back: the start ends byte-aligned after its sync flush with no final block, and the end,
 * compressed on its own, refers to nothing before it, so an inflater reads them as one stream
 * (RFC 1951 §3.2.3, RFC 7692 §7.2.1); its own sync-flush tail is removed as for any message.
 */
export function frameWithEnd(start: MessageStart, end: string): Buffer[] {
  let endBytes = Buffer.from(end, 'utf8');
  if (start.deflated) {
    const deflated = deflateRawSync(endBytes, { level: 1, finishFlush: constants.Z_SYNC_FLUSH });
    endBytes = deflated.subarray(0, deflated.length - SYNC_FLUSH_TAIL);
  }
  const first = start.deflated ? FIN_TEXT | RSV1 : FIN_TEXT;
  return [header(first, start.bytes.length + endBytes.length), start.bytes, endBytes];
}

function frame(first: number, payload: Buffer): Buffer {
  return Buffer.concat([header(first, payload.length), payload]);
}

function header(first: number, length: number): Buffer {
  if (length < 126) return Buffer.from([first, length]);
  if (length < 65_536) {
    const bytes = Buffer.alloc(4);
    bytes[0] = first;
    bytes[1] = 126;
    bytes.writeUInt16BE(length, 2);
    return bytes;
  }
  const bytes = Buffer.alloc(10);
  bytes[0] = first;
  bytes[1] = 127;
  bytes.writeBigUInt64BE(BigInt(length), 2);
  return bytes;
}
