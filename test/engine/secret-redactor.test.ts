// CORE-010: the streaming redactor. Every split of the output into two and three writes must give
// the same redacted text as one write, and nothing of a value may pass before the flush.
import { describe, expect, it } from 'vitest';
import {
  createRedactor,
  MIN_SECRET_LENGTH,
  REDACTED,
  redactionPatterns,
  redactText,
} from '../../src/engine/secrets/secret-redactor.js';

const streamed = (patterns: readonly string[], chunks: readonly string[]) => {
  const redactor = createRedactor(patterns);
  return chunks.map((chunk) => redactor.push(chunk)).join('') + redactor.flush();
};

describe('redactionPatterns', () => {
  it('keeps each value and each long enough line of a multi-line value, longest first', () => {
    const patterns = redactionPatterns(['s3cret-value', '-----BEGIN-----\r\nAAAAbbbbCCCC\nab\n-----END-----']);
    expect(patterns[0]).toBe('-----BEGIN-----\r\nAAAAbbbbCCCC\nab\n-----END-----');
    expect(patterns).toContain('s3cret-value');
    expect(patterns).toContain('-----BEGIN-----');
    expect(patterns).toContain('AAAAbbbbCCCC');
    // Too short to redact on its own without eating ordinary output.
    expect(patterns).not.toContain('ab');
    expect(patterns.every((p) => p.length >= MIN_SECRET_LENGTH)).toBe(true);
  });
});

describe('createRedactor', () => {
  const secret = 'hunter2-tok';
  const text = `a${secret}b ${secret}${secret} hunte end hunter2-to`;
  const expected = `a${REDACTED}b ${REDACTED}${REDACTED} hunte end hunter2-to`;

  it('redacts the same at every split point into two writes', () => {
    for (let i = 0; i <= text.length; i++) {
      expect(streamed([secret], [text.slice(0, i), text.slice(i)]), `split at ${i}`).toBe(expected);
    }
  });

  it('redacts the same at every pair of split points into three writes', () => {
    for (let i = 0; i <= text.length; i++) {
      for (let j = i; j <= text.length; j++) {
        expect(streamed([secret], [text.slice(0, i), text.slice(i, j), text.slice(j)]), `${i},${j}`).toBe(expected);
      }
    }
  });

  it('redacts byte by byte, never letting a whole value through before the flush', () => {
    const redactor = createRedactor([secret]);
    let passed = '';
    for (const char of text) {
      passed += redactor.push(char);
      expect(passed).not.toContain(secret);
    }
    expect(passed + redactor.flush()).toBe(expected);
  });

  it('holds back at most the longest value minus one character', () => {
    const long = 'x'.repeat(40);
    const redactor = createRedactor([secret, long]);
    const chunk = 'output then x'.padEnd(60, 'x').slice(0, 52);
    const out = redactor.push(chunk);
    expect(chunk.length - out.length).toBeLessThanOrEqual(long.length - 1);
  });

  it('redacts a multi-line value whole and each of its lines printed alone, at every split point', () => {
    const value = 'first-line-of-key\nsecond-line-of-key';
    const patterns = redactionPatterns([value]);
    const out = `${value}\n--\nsecond-line-of-key\nfirst-line-of-key\n`;
    const want = `${REDACTED}\n--\n${REDACTED}\n${REDACTED}\n`;
    for (let i = 0; i <= out.length; i++) {
      expect(streamed(patterns, [out.slice(0, i), out.slice(i)]), `split at ${i}`).toBe(want);
    }
  });

  it('passes output through unchanged when there is nothing to redact', () => {
    expect(streamed([], ['abc', 'def'])).toBe('abcdef');
    expect(streamed(['secret-x'], ['secret', '-y and secret-'])).toBe('secret-y and secret-');
  });
});

describe('redactText', () => {
  it('redacts every occurrence in a whole text', () => {
    expect(redactText('x hunter2-tok y hunter2-tok', ['hunter2-tok'])).toBe(`x ${REDACTED} y ${REDACTED}`);
  });
});
