// Text from commands and hosts made safe for plain logs and terminals: no escape sequences, no
// other control characters, carriage-return redraws read as the terminal showed them (CORE-002:
// plain output never has escape codes), and reasons on one line (CORE-001).

const ESCAPE_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
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
