// Command output as the page shows it (see CORE-004): plain text. Output is written for a
// terminal, so it carries escape sequences (colours, window titles, hyperlinks) and control
// characters that a <pre> would show as raw bytes. They are removed; newlines and tabs stay, and
// a carriage return that is not part of CR LF (a progress line redrawn) becomes a newline.
// Pure: it runs unchanged in the browser and in node tests.

const ESCAPE_SEQUENCES = new RegExp(
  [
    // OSC, DCS, SOS, PM and APC strings (ESC ] P X ^ _, or their 8-bit forms), up to BEL or ST
    // (ESC \ or 0x9c), or to the end of the text when the tail cut them.
    '(?:\\u001b[\\]PX^_]|[\\u0090\\u0098\\u009d\\u009e\\u009f])[\\s\\S]*?(?:\\u0007|\\u001b\\\\|\\u009c|$)',
    // CSI (ESC [ or 0x9b): parameters, intermediates, one final byte.
    '(?:\\u001b\\[|\\u009b)[0-?]*[ -/]*[@-~]',
    // Every other escape sequence: ESC, intermediates, one final byte (ESC ( B, ESC 7, ESC =).
    '\\u001b[ -/]*[0-~]',
  ].join('|'),
  'g',
);
/** C0 controls but tab and newline, DEL, and the C1 controls. */
const CONTROL_CHARACTERS = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/** `text` without terminal escape sequences and control characters, newlines and tabs kept. */
export function plainTerminalText(text) {
  return text.replace(ESCAPE_SEQUENCES, '').replace(/\r\n/g, '\n').replace(/\r/g, '\n').replace(CONTROL_CHARACTERS, '');
}
