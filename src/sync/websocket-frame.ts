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

function frame(first: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([first, length]);
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = first;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = first;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}
