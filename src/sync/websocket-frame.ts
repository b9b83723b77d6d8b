// One WebSocket text frame, encoded once and written as is to every client (see CORE-004,
// fan-out). Server-to-client frames are never masked (RFC 6455 §5.1), so the same bytes are
// valid on every connection; the layout is RFC 6455 §5.2: FIN + opcode, then the payload length
// in 7, 7+16 or 7+64 bits.
const FIN_TEXT = 0x81;

export function encodeTextFrame(text: string): Buffer {
  const payload = Buffer.from(text, 'utf8');
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.from([FIN_TEXT, length]);
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header[0] = FIN_TEXT;
    header[1] = 126;
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header[0] = FIN_TEXT;
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  return Buffer.concat([header, payload]);
}
