// Output from commands made safe for plain logs: no escape sequences, no carriage-return
// redraws, no other control characters (CORE-002: plain output never has escape codes).

const ESCAPE_SEQUENCE = /\u001b(?:\[[0-?]*[ -/]*[@-~]|\][^\u0007\u001b]*(?:\u0007|\u001b\\)|[@-Z\\-_])/g;
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g;

export function stripTerminalCodes(text: string): string {
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(/\r(?!\n)/g, '\n')
    .replace(CONTROL, '');
}

/** The last `count` non-empty lines of `text`, cleaned. */
export function lastLines(text: string, count: number): string[] {
  return stripTerminalCodes(text)
    .split('\n')
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-count);
}
