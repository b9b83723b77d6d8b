// Text from commands and hosts made safe for plain logs and terminals: no escape sequences, no
// other control characters, carriage-return redraws read as the terminal showed them (CORE-002:
// plain output never has escape codes), and reasons on one line (CORE-001).

// The escape sequences the dashboard's output panel removes too (src/dashboard/static/terminal-text.js):
const ESCAPE_SEQUENCE = new RegExp(
  [
    // OSC, DCS, SOS, PM and APC strings (ESC ] P X ^ _, or their 8-bit forms), up to BEL or ST
    // (ESC \ or 0x9c), or to the end of the text when a tail cut them.
    '(?:\\u001b[\\]PX^_]|[\\u0090\\u0098\\u009d\\u009e\\u009f])[\\s\\S]*?(?:\\u0007|\\u001b\\\\|\\u009c|$)',
    // CSI (ESC [ or 0x9b): parameters, intermediates, one final byte.
    '(?:\\u001b\\[|\\u009b)[0-?]*[ -/]*[@-~]',
    // Every other escape sequence: ESC, intermediates, one final byte (ESC ( B, ESC 7, ESC =).
    '\\u001b[ -/]*[0-~]',
  ].join('|'),
  'g',
);
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

/**
 * Without escape sequences and control characters. A line redrawn with `\r` (a progress bar)
 * keeps what the terminal ended up showing: the text after its last `\r`, unless that is empty.
 */
export function stripTerminalCodes(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(/\r+\n/g, '\n')
    .replace(/[^\n]*\r[^\n]*/g, lastRedraw)
    .replace(CONTROL, '');
}

function lastRedraw(line: string): string {
  return (
    line
      .split('\r')
      .filter((part) => part.length > 0)
      .at(-1) ?? ''
  );
}

/**
 * Every control character but tab and line feed written out as `\xNN`, for text that is shown to
 * be read as it is (a plan's commands, a fleet's descriptions): an escape sequence in a fleet
 * value is shown, not obeyed by the terminal, and the text keeps every character it has.
 */
export function visibleControls(text: string): string {
  return text.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

/**
 * The most parameter characters an SGR sequence may have (the longest real one, two 24-bit
 * colours with attributes, has about 40). A longer `ESC [ digits…` is no colour, and `logs`
 * holds an unfinished sequence back only this far (CORE-002): one with no end was held whole.
 */
export const SGR_PARAMETERS_MAX = 64;
/** An SGR sequence (colours, bold, underline): `ESC [ params m`, nothing else. */
const SGR = new RegExp(`\\u001b\\[[0-9;:]{0,${SGR_PARAMETERS_MAX}}m`);
const SGR_OR_CONTROL = new RegExp(`${SGR.source}|${CONTROL.source}`, 'g');

/**
 * Stored output made safe for a terminal, for `logs` when stdout is one (see CORE-002): each
 * control character but tab and line feed is written as `\xNN` as `visibleControls` does, so an
 * OSC title, a clear-screen or a cursor move is shown, not obeyed; a `\r` that ends a line (CRLF) is
 * just the line end. Colour (SGR) sequences alone stay when `colour` is on, and are removed when
 * it is off (NO_COLOR, --no-color): they only colour text, and written out they would bury it.
 */
export function shownOnTerminal(text: string, colour: boolean): string {
  return text
    .replace(/\r\n/g, '\n')
    .replace(SGR_OR_CONTROL, (found) =>
      found.length > 1 ? (colour ? found : '') : `\\x${found.charCodeAt(0).toString(16).padStart(2, '0')}`,
    );
}

/** The last `count` non-empty lines of `text`, cleaned. */
export function lastLines(text: string, count: number): string[] {
  return stripTerminalCodes(text)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count);
}

/** Cleaned, and on one line: line breaks become `; ` (a reason, a log line); indentation stays. */
export function oneLine(text: string): string {
  return stripTerminalCodes(text)
    .split('\n')
    .map((line, i) => (i === 0 ? line.trimEnd() : line.trim()))
    .filter((line) => line.length > 0)
    .join('; ');
}
