// Replaces every occurrence of a secret's value in command output with `***` before the output
// reaches anything that keeps or shows it (see CORE-010). Streaming: a value split across two
// chunks is still caught, because the end of a chunk that could begin a value is held back (at
// most the longest value's length minus one characters) until the next chunk or the flush. Output
// that ends with the start of a value (at least MIN_SECRET_LENGTH characters of it) has that start
// hidden too: a command killed while it printed a value must not leave most of it in the log.

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
  const index = indexPatterns(patterns);
  if (index === undefined) return { push: (chunk) => chunk, flush: () => '' };
  let held = '';
  let hidden = 0;
  return {
    push(chunk) {
      const scanned = scan(held + chunk, index, false, hidden);
      held = scanned.rest;
      hidden = scanned.hidden;
      return scanned.out;
    },
    flush() {
      const { out } = scan(held, index, true, hidden);
      held = '';
      hidden = 0;
      return out;
    },
  };
}

// Command output is bytes, passed on undecoded (CORE-001, output): a redactor looks through it as
// a string of one character per byte (latin1) for each value's UTF-8 bytes, written the same way.
// Every array of patterns is turned into bytes once, as it is indexed once (below).
const asBytes = new WeakMap<readonly string[], readonly string[]>();

/** `patterns` as their UTF-8 bytes, one character per byte, for a redactor of raw output. */
export function bytePatterns(patterns: readonly string[]): readonly string[] {
  let bytes = asBytes.get(patterns);
  if (bytes === undefined) {
    bytes = patterns.map((pattern) => Buffer.from(pattern, 'utf8').toString('latin1'));
    asBytes.set(patterns, bytes);
  }
  return bytes;
}

/** Redacts a whole text at once (error messages, anything not streamed). */
export function redactText(text: string, patterns: readonly string[]): string {
  const index = indexPatterns(patterns);
  return index === undefined ? text : scan(text, index, true).out;
}

// The work at each character of output must not grow with the number of patterns (CORE-010,
// redaction): trying every pattern at every character made a 100 KB key, 1,563 line patterns that
// base64 output begins almost everywhere, hold the event loop for 50 s on 2 MB of output. So the
// patterns are sorted and searched by halving, about log2(patterns) comparisons, only where the
// next character and a hash of the next 6 say a pattern may begin. (A map from each pattern's
// first 6 characters would still try one by one the patterns that share them, such as the lines
// of an indented file.) bench/redact.bench.mjs measures both kinds of key.

const HASH_MASK = 0xffff;

interface PatternIndex {
  /** Each pattern once, in the order `<` gives strings (by UTF-16 code unit). */
  sorted: string[];
  /** How many first characters are hashed: MIN_SECRET_LENGTH, or the shortest pattern's length if a caller passes a shorter one. */
  hashed: number;
  /** Set at each pattern's first UTF-16 code unit: with a value or two, most output is turned away here. */
  firstCodes: Uint8Array;
  /** Set where the hash of a pattern's first `hashed` characters falls: most other places are turned away here, without searching. */
  hashedStarts: Uint8Array;
}

// Indexing 1,563 patterns takes a few milliseconds, and a run makes a redactor for each pipe of
// each command and redacts each failure reason with the same array (`redact` in engine/run.ts),
// so each array is indexed once. Patterns are not changed once passed (they are readonly).
const indexes = new WeakMap<readonly string[], PatternIndex | undefined>();

function indexPatterns(patterns: readonly string[]): PatternIndex | undefined {
  if (!indexes.has(patterns)) indexes.set(patterns, buildIndex(patterns));
  return indexes.get(patterns);
}

function buildIndex(patterns: readonly string[]): PatternIndex | undefined {
  // An empty pattern is never looked for.
  const sorted = [...new Set(patterns.filter((pattern) => pattern.length > 0))].sort();
  if (sorted.length === 0) return undefined;
  const hashed = sorted.reduce((least, pattern) => Math.min(least, pattern.length), MIN_SECRET_LENGTH);
  const firstCodes = new Uint8Array(0x10000);
  const hashedStarts = new Uint8Array(HASH_MASK + 1);
  for (const pattern of sorted) {
    firstCodes[pattern.charCodeAt(0)] = 1;
    hashedStarts[startHash(pattern, 0, hashed)] = 1;
  }
  return { sorted, hashed, firstCodes, hashedStarts };
}

function startHash(text: string, at: number, length: number): number {
  let hash = 0;
  for (let j = at; j < at + length; j++) hash = (hash * 31 + text.charCodeAt(j)) & HASH_MASK;
  return hash;
}

/** How many characters `pattern` and text[at, end) begin with alike. */
function shared(pattern: string, text: string, at: number, end: number): number {
  const most = Math.min(pattern.length, end - at);
  let n = 0;
  while (n < most && pattern.charCodeAt(n) === text.charCodeAt(at + n)) n++;
  return n;
}

/** How many of sorted[0, below) sort before text[at, end) or equal it. */
function countNotAfter(sorted: readonly string[], below: number, text: string, at: number, end: number): number {
  let low = 0;
  let high = below;
  while (low < high) {
    const mid = (low + high) >>> 1;
    const pattern = sorted[mid] as string;
    const n = shared(pattern, text, at, end);
    const notAfter = n === pattern.length || (n < end - at && pattern.charCodeAt(n) < text.charCodeAt(at + n));
    if (notAfter) low = mid + 1;
    else high = mid;
  }
  return low;
}

/**
 * Values found where they overlap, one ending inside another (`Alpha-XYZ-shared` and
 * `shared-Bravo-987` printed as `Alpha-XYZ-shared-Bravo-987`), are one `***`: each place inside a
 * value found is looked at too, and the `***` covers up to where the last of them ends. Skipping
 * to the end of the first left the rest of the second in the clear (CORE-010).
 *
 * `hidden`: text[0, hidden) lies in values whose `***` the last push already gave out, as it
 * ended where a longer overlapping one might still follow. So what is held is never more than the
 * longest value less one character: held from the first found value, a long run of one value
 * printed back to back (`aaaaaa` in a megabyte of `a`s) was scanned again at every push.
 */
function scan(
  text: string,
  index: PatternIndex,
  final: boolean,
  hidden = 0,
): { out: string; rest: string; hidden: number } {
  const { sorted, hashed, firstCodes, hashedStarts } = index;
  let out = '';
  let copiedUpTo = 0;
  /** The values found since copiedUpTo: from where the first begins (-1: none) to where the last ends. */
  let foundFrom = hidden > 0 ? 0 : -1;
  let foundTo = hidden;
  /** Whether their `***` is out already. */
  let said = hidden > 0;
  /** The text up to the values found, and their `***` unless it is out. */
  const upToFound = () => text.slice(copiedUpTo, foundFrom) + (said ? '' : REDACTED);
  let i = 0;
  while (i < text.length) {
    if (foundFrom !== -1 && i >= foundTo) {
      out += upToFound();
      copiedUpTo = foundTo;
      foundFrom = -1;
      said = false;
    }
    if (
      firstCodes[text.charCodeAt(i)] === 0 ||
      (i + hashed <= text.length && hashedStarts[startHash(text, i, hashed)] === 0)
    ) {
      i++;
      continue;
    }
    // "The text" below is text[i, end): at first all that is left of it.
    let end = text.length;
    let notAfter = countNotAfter(sorted, sorted.length, text, i, end);
    // A longer value that the text so far only begins: wait for more before deciding (so at most
    // the longest value's length minus one characters are held). Such values sort right after the
    // text, so the first pattern after it is one if any is.
    const next = sorted[notAfter];
    const endsInValue = next !== undefined && shared(next, text, i, end) === end - i;
    if (!final && endsInValue) {
      if (foundFrom === -1) return { out: out + text.slice(copiedUpTo, i), rest: text.slice(i), hidden: 0 };
      // Inside values found: their `***` goes out now; what follows from here is held.
      return { out: out + upToFound(), rest: text.slice(i), hidden: foundTo - i };
    }
    // The longest pattern the text begins with here: the last pattern not after the text, if the
    // text begins with it (a longer one that the text begins with would sort between the two).
    // If not, every pattern the text begins with is a start of that one, no longer than what the
    // two share: search again for the text cut to that length, before that one.
    let match: string | undefined;
    while (notAfter > 0) {
      const candidate = sorted[notAfter - 1] as string;
      const n = shared(candidate, text, i, end);
      if (n === candidate.length) {
        match = candidate;
        break;
      }
      end = i + n;
      notAfter = countNotAfter(sorted, notAfter - 1, text, i, end);
    }
    if (match === undefined) {
      // The output ends inside a value (a command killed mid-line, by its timeout, say): what it
      // shows of the value is hidden too, from as long as a value must be (CORE-010).
      if (endsInValue && text.length - i >= MIN_SECRET_LENGTH) {
        const tail = foundFrom === -1 ? text.slice(copiedUpTo, i) + REDACTED : upToFound();
        return { out: out + tail, rest: '', hidden: 0 };
      }
      i++;
      continue;
    }
    if (foundFrom === -1) foundFrom = i;
    foundTo = Math.max(foundTo, i + match.length);
    i++;
  }
  if (foundFrom !== -1) {
    out += upToFound();
    copiedUpTo = foundTo;
  }
  return { out: out + text.slice(copiedUpTo), rest: '', hidden: 0 };
}
