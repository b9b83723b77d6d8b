// Replaces every occurrence of a secret's value in command output with `***` before the output
// reaches anything that keeps or shows it (see CORE-010). Streaming: a value split across two
// chunks is still caught, because the end of a chunk that could begin a value is held back (at
// most the longest value's length minus one characters) until the next chunk or the flush.

export const REDACTED = '***';

/** Shorter values would turn ordinary output into asterisks; resolution refuses them. */
export const MIN_SECRET_LENGTH = 6;

/**
 * What to look for: each value, and each line of a multi-line value long enough to redact on its
 * own (a command may print a key line by line). Longest first, so the whole value wins.
 */
export function redactionPatterns(values: Iterable<string>): string[] {
  const patterns = new Set<string>();
  for (const value of values) {
    if (value.length >= MIN_SECRET_LENGTH) patterns.add(value);
    if (!value.includes('\n')) continue;
    for (const raw of value.split('\n')) {
      const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
      if (line.length >= MIN_SECRET_LENGTH) patterns.add(line);
    }
  }
  return [...patterns].sort((a, b) => b.length - a.length);
}

export interface Redactor {
  /** The chunk's text that is now safe to pass on; may hold back a possible start of a value. */
  push(chunk: string): string;
  /** Everything held back, redacted; call when the stream ends. */
  flush(): string;
}

export function createRedactor(patterns: readonly string[]): Redactor {
  if (patterns.length === 0) return { push: (chunk) => chunk, flush: () => '' };
  const firstChars = new Set(patterns.map((pattern) => pattern[0]));
  let held = '';
  return {
    push(chunk) {
      const { out, rest } = scan(held + chunk, patterns, firstChars, false);
      held = rest;
      return out;
    },
    flush() {
      const { out } = scan(held, patterns, firstChars, true);
      held = '';
      return out;
    },
  };
}

/** Redacts a whole text at once (error messages, anything not streamed). */
export function redactText(text: string, patterns: readonly string[]): string {
  if (patterns.length === 0) return text;
  return scan(text, patterns, new Set(patterns.map((pattern) => pattern[0])), true).out;
}

function scan(
  text: string,
  patterns: readonly string[],
  firstChars: ReadonlySet<string | undefined>,
  final: boolean,
): { out: string; rest: string } {
  let out = '';
  let copiedUpTo = 0;
  let i = 0;
  while (i < text.length) {
    if (!firstChars.has(text[i])) {
      i++;
      continue;
    }
    const remaining = text.length - i;
    // A longer value that the text so far only begins: wait for more before deciding.
    if (!final && patterns.some((p) => p.length > remaining && p.startsWith(text.slice(i)))) {
      out += text.slice(copiedUpTo, i);
      return { out, rest: text.slice(i) };
    }
    const match = patterns.find((p) => p.length <= remaining && text.startsWith(p, i));
    if (match === undefined) {
      i++;
      continue;
    }
    out += text.slice(copiedUpTo, i) + REDACTED;
    i += match.length;
    copiedUpTo = i;
  }
  return { out: out + text.slice(copiedUpTo), rest: '' };
}
