// What reaches a plain log or a terminal from commands and hosts (CORE-001, CORE-002).
import { describe, expect, it } from 'vitest';
import { lastLines, oneLine, shownOnTerminal, stripTerminalCodes } from '../../src/domain/terminal-text.js';

describe('terminal text', () => {
  it('a line redrawn with \\r reads as the terminal ended up showing it', () => {
    const progress = 'error: checksum mismatch\n\rcleanup   5%\rcleanup  10%\rcleanup 100%\n';
    expect(lastLines(progress, 10)).toEqual(['error: checksum mismatch', 'cleanup 100%']);
    // A redraw that ends in \r keeps the last text drawn; CRLF line ends are just line ends.
    expect(stripTerminalCodes('50%\r100%\r\nnext\r\n')).toBe('100%\nnext\n');
    expect(stripTerminalCodes('\r\r')).toBe('');
  });

  it('drops escape sequences and control characters', () => {
    expect(stripTerminalCodes('\u001b[31mred\u001b[0m \u001b]0;title\u0007bell\u0007 nul\u0000')).toBe('red bell nul');
    // A DCS string, an OSC 8 link ended by ST, an 8-bit CSI, a charset switch.
    expect(stripTerminalCodes('\u001bP1$r0m\u001b\\a\u001b]8;;http://x\u001b\\b\u009b31mc\u001b(Bd')).toBe('abcd');
  });

  it('puts a reason on one line, cleaned', () => {
    expect(oneLine('cwd /nonexist\n::warning title=x::pwned\n')).toBe('cwd /nonexist; ::warning title=x::pwned');
    expect(oneLine('a\u001b[2J\u001b[H\r\n  b  \n\n')).toBe('a; b');
    expect(oneLine('  indented')).toBe('  indented');
  });

  it('shows output on a terminal with its control characters written out, colours as asked', () => {
    const text = '\u001b]0;t\u0007\u001b[2J\u001b[1;31mred\u001b[0m\r\n50%\r\u009b2J\tend\n';
    expect(shownOnTerminal(text, true)).toBe('\\x1b]0;t\\x07\\x1b[2J\u001b[1;31mred\u001b[0m\n50%\\x0d\\x9b2J\tend\n');
    expect(shownOnTerminal(text, false)).toBe('\\x1b]0;t\\x07\\x1b[2Jred\n50%\\x0d\\x9b2J\tend\n');
  });
});
