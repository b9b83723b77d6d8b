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
import { withSecrets } from '../../src/engine/secrets/secret-transport.js';
import type { Transport } from '../../src/engine/types.js';

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
  // `hunte` is shorter than a value may be; the output ends inside the value (`hunter2-to`), which
  // is hidden as well (CORE-010).
  const expected = `a${REDACTED}b ${REDACTED}${REDACTED} hunte end ${REDACTED}`;

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
    const chunk = 'output then x'.padEnd(60, 'x').slice(0, 50);
    const out = redactor.push(chunk);
    expect(out).toBe('output then ');
    expect(chunk.length - out.length).toBeLessThanOrEqual(long.length - 1);
  });

  it('gives out a value found at once, and hides an overlapping one that follows under the same ***', () => {
    const long = 'x'.repeat(40);
    const redactor = createRedactor([secret, long]);
    // Forty x's are the value; one more would be another occurrence overlapping it.
    expect(redactor.push(`output then ${long}`)).toBe(`output then ${REDACTED}`);
    expect(redactor.push('x and on')).toBe(' and on');
    // A value that no other can overlap goes out at once.
    expect(redactor.push(`then ${secret}`)).toBe(`then ${REDACTED}`);
    expect(redactor.flush()).toBe('');
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
    expect(streamed(['secret-x'], ['secret', '-y and secre'])).toBe('secret-y and secre');
  });
});

describe('redactText', () => {
  it('redacts every occurrence in a whole text', () => {
    expect(redactText('x hunter2-tok y hunter2-tok', ['hunter2-tok'])).toBe(`x ${REDACTED} y ${REDACTED}`);
  });

  it('hides a long run of a value that overlaps itself, pushed in pipe-sized chunks, as one ***', () => {
    // What it costs is bench/redact's `aaaaaa` row: held from the first value found, all of the
    // run was scanned again at every push (CORE-010).
    const redactor = createRedactor(['aaaaaa']);
    const chunk = 'a'.repeat(64 * 1024);
    let out = redactor.push(`x ${chunk}`);
    expect(out).toBe(`x ${REDACTED}`);
    for (let n = 0; n < 15; n++) out += redactor.push(chunk);
    out += redactor.push('\ndone\n') + redactor.flush();
    expect(out).toBe(`x ${REDACTED}\ndone\n`);
  });

  it('hides two values printed overlapping, one ending with the start of the other, whole', () => {
    // CORE-010: the second was cut at the end of the first, and `-Bravo-987` stayed in the clear.
    const patterns = redactionPatterns(['Alpha-XYZ-shared', 'shared-Bravo-987']);
    const text = 'key Alpha-XYZ-shared-Bravo-987 done';
    expect(redactText(text, patterns)).toBe(`key ${REDACTED} done`);
    for (let i = 0; i <= text.length; i++) {
      expect(streamed(patterns, [text.slice(0, i), text.slice(i)]), `split at ${i}`).toBe(`key ${REDACTED} done`);
    }
  });
});

// The redactor looks patterns up in a sorted index instead of trying each one at each character
// (see CORE-010, redaction). These check that what it finds is what trying each one finds.
describe('many patterns', () => {
  /**
   * What the redaction means: every character of every occurrence of a pattern is hidden, and
   * occurrences that overlap are one `***`; so is the end of the text where it ends inside a value.
   */
  const naive = (text: string, patterns: readonly string[]) => {
    let out = '';
    /** Where the run of overlapping occurrences being hidden ends; -1: none. */
    let hiddenTo = -1;
    for (let i = 0; i < text.length; i++) {
      if (hiddenTo !== -1 && i >= hiddenTo) {
        out += REDACTED;
        hiddenTo = -1;
      }
      const ends = patterns.filter((p) => p.length > 0 && text.startsWith(p, i)).map((p) => i + p.length);
      // No value here, but the text ends inside one, with at least as much of it as a value must have.
      const rest = text.slice(i);
      const endsInValue = patterns.some((p) => p.length > rest.length && p.startsWith(rest));
      if (ends.length === 0 && endsInValue && rest.length >= MIN_SECRET_LENGTH) return out + REDACTED;
      if (ends.length > 0) hiddenTo = Math.max(hiddenTo, ...ends);
      else if (hiddenTo === -1) out += text[i];
    }
    return hiddenTo === -1 ? out : out + REDACTED;
  };

  /** A small deterministic generator (mulberry32), so a failure can be replayed. */
  const random = (seed: number) => () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  it('redacts each line of a 1,563-line key, and only those, streamed in pipe-sized chunks', () => {
    const next = random(7);
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const line = () => Array.from({ length: 64 }, () => alphabet[Math.floor(next() * 64)]).join('');
    const keyLines = Array.from({ length: 1563 }, line);
    const patterns = redactionPatterns([keyLines.join('\n')]);
    expect(patterns).toHaveLength(1564);
    const lines: string[] = [];
    const want: string[] = [];
    for (let n = 0; n < 20_000; n++) {
      const printsKey = n % 97 === 0;
      const text = printsKey ? (keyLines[(n * 31) % keyLines.length] as string) : line();
      lines.push(text);
      want.push(printsKey ? REDACTED : text);
    }
    const output = `${lines.join('\n')}\n`;
    const chunks: string[] = [];
    for (let at = 0; at < output.length; at += 65_536) chunks.push(output.slice(at, at + 65_536));
    expect(streamed(patterns, chunks)).toBe(`${want.join('\n')}\n`);
    expect(redactText(output, patterns)).toBe(`${want.join('\n')}\n`);
  });

  it('redacts lines that all begin alike, and lines that begin other lines, at every split point', () => {
    // An indented file: every line begins with the same 6 spaces and `key_1` begins `key_10`.
    const fileLines = Array.from({ length: 120 }, (_, n) => `      key_${n}: value-${n}`);
    fileLines.push('      key_1: value-1-and-more', '      key_1: value-1-and');
    const value = fileLines.join('\n');
    const patterns = redactionPatterns([value]);
    const out = [
      '      key_10: value-10',
      '      key_1: value-1-and-more!',
      '      key_1: value-1-and-mor',
      '      key_1: value-1-an',
      '      key_119: value-11',
      '      key_120: value-120',
      '      key_7: value-7',
      value,
      '      key_',
    ].join('\n');
    const want = naive(out, patterns);
    expect(want).toBe(
      [
        REDACTED,
        `${REDACTED}!`,
        `${REDACTED}-mor`,
        `${REDACTED}-an`,
        '      key_119: value-11',
        '      key_120: value-120',
        REDACTED,
        REDACTED,
        // The output ends inside a line of the value.
        REDACTED,
      ].join('\n'),
    );
    for (let i = 0; i <= out.length; i++) {
      expect(streamed(patterns, [out.slice(0, i), out.slice(i)]), `split at ${i}`).toBe(want);
    }
  });

  it('catches a multi-line value split at every pair of chunk boundaries, and lets none of it out early', () => {
    const value = 'line-one-of-key\nline-two-of-key\nline-three-of-key';
    const patterns = redactionPatterns([value]);
    const out = `before ${value} after line-two-of-ke`;
    const want = `before ${REDACTED} after ${REDACTED}`;
    for (let i = 0; i <= out.length; i++) {
      for (let j = i; j <= out.length; j++) {
        const redactor = createRedactor(patterns);
        const passed = redactor.push(out.slice(0, i)) + redactor.push(out.slice(i, j)) + redactor.push(out.slice(j));
        // Nothing of the value: not a line of it, and not the start of its first line.
        for (const p of patterns) expect(passed, `${i},${j}`).not.toContain(p);
        expect(passed, `${i},${j}`).not.toContain('line-one');
        expect(passed + redactor.flush(), `${i},${j}`).toBe(want);
      }
    }
  });

  it('lets the longest pattern win where several begin at the same place, whatever order they are given in', () => {
    const patterns = ['abcdef', 'abcdefgh', 'cdefghij', 'secret', 'secret-12345'];
    const text = 'xabcdefghij secret-1234x secret-12345 abcdefg';
    // `abcdefgh` and `cdefghij` overlap: one `***` hides both, `ij` included.
    const want = `x${REDACTED} ${REDACTED}-1234x ${REDACTED} ${REDACTED}g`;
    expect(naive(text, patterns)).toBe(want);
    for (const order of [patterns, [...patterns].reverse(), [...patterns].sort()]) {
      expect(redactText(text, order)).toBe(want);
      for (let i = 0; i <= text.length; i++) {
        expect(streamed(order, [text.slice(0, i), text.slice(i)]), `split at ${i}`).toBe(want);
      }
    }
  });

  it('agrees with trying every pattern at every position, for random patterns, texts and writes', () => {
    const next = random(42);
    for (const alphabet of ['ab', 'ab\n', 'aab', 'abc ']) {
      const word = (min: number, max: number) =>
        Array.from(
          { length: min + Math.floor(next() * (max - min + 1)) },
          () => alphabet[Math.floor(next() * alphabet.length)],
        ).join('');
      for (let round = 0; round < 500; round++) {
        const values = Array.from({ length: 1 + Math.floor(next() * 8) }, () => word(MIN_SECRET_LENGTH, 14));
        const patterns = redactionPatterns(values);
        const text = word(0, 48);
        const want = naive(text, patterns);
        expect(redactText(text, patterns), `${JSON.stringify(patterns)} in ${JSON.stringify(text)}`).toBe(want);
        const cuts = [0, ...Array.from({ length: 4 }, () => Math.floor(next() * (text.length + 1))), text.length];
        cuts.sort((a, b) => a - b);
        const chunks = cuts.slice(1).map((cut, k) => text.slice(cuts[k], cut));
        expect(streamed(patterns, chunks), `${JSON.stringify(patterns)} in ${JSON.stringify(chunks)}`).toBe(want);
        expect(streamed(patterns, [...text]), `${JSON.stringify(patterns)} byte by byte`).toBe(want);
      }
    }
  });

  it('hides the start of a value that the output ends with, from as long as a value must be', () => {
    // CORE-010: a command killed while it printed `supersecret-ABC` left `supersecret-AB` in the log.
    const patterns = redactionPatterns(['supersecret-ABC']);
    for (const text of ['leak=supersecret-AB', 'leak=supers']) {
      expect(redactText(text, patterns), text).toBe(`leak=${REDACTED}`);
      for (let i = 0; i <= text.length; i++) {
        expect(streamed(patterns, [text.slice(0, i), text.slice(i)]), `${text} split at ${i}`).toBe(`leak=${REDACTED}`);
      }
    }
    // Shorter than any value may be: it is ordinary text as often as not.
    expect(redactText('leak=super', patterns)).toBe('leak=super');
    // Not at the end, it is what the command printed, and stays (only whole values are known).
    expect(redactText('supersecret-AB\nmore', patterns)).toBe('supersecret-AB\nmore');
  });

  it('holds back at most the longest value minus one character, with many patterns', () => {
    const value = Array.from({ length: 200 }, (_, n) => `line-${n}-of-a-long-key`).join('\n');
    const patterns = redactionPatterns([value]);
    const redactor = createRedactor(patterns);
    // All but the last character of the value: all of it may still become the value.
    const chunk = `output ${value.slice(0, -1)}`;
    const out = redactor.push(chunk);
    expect(out).toBe('output ');
    expect(chunk.length - out.length).toBeLessThanOrEqual(value.length - 1);
    // The last character completes it: no longer value can begin there, so it is out at once.
    expect(redactor.push(value.slice(-1))).toBe(REDACTED);
    expect(redactor.flush()).toBe('');
  });
});

describe('withSecrets on raw output', () => {
  it('redacts a value with non-ASCII characters from bytes split at every point, keeping bytes that are no UTF-8', async () => {
    const secret = 'pässwörd-€42';
    const output = Buffer.concat([Buffer.from([0xff, 0x20]), Buffer.from(secret), Buffer.from([0x80, 0x0a])]);
    const patterns = redactionPatterns([secret]);
    for (let cut = 0; cut <= output.length; cut++) {
      const fake: Transport = {
        async exec(_command, options) {
          options.onOutput?.(output.subarray(0, cut));
          options.onOutput?.(output.subarray(cut));
          return { exitCode: 0, signal: null, timedOut: false, aborted: false };
        },
        close: async () => {},
      };
      const got: Buffer[] = [];
      await withSecrets(fake, {}, patterns).exec('x', {
        env: {},
        timeoutMs: 1000,
        onOutput: (chunk) => {
          got.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk));
        },
      });
      expect(Buffer.concat(got), `cut at ${cut}`).toEqual(Buffer.from([0xff, 0x20, 0x2a, 0x2a, 0x2a, 0x80, 0x0a]));
    }
  });
});
