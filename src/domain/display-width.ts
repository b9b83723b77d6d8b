// How many terminal columns text takes, for cutting lines to a terminal's width (CORE-002, the
// terminal view). A JavaScript string's length counts UTF-16 code units: a CJK character is one
// of them but takes two columns, an emoji two units and two columns, an accent one unit and no
// column. A small function rather than the string-width package: CORE-002 says why.

/** East Asian Wide and Fullwidth characters that are not emoji (those are Emoji_Presentation). */
const WIDE_RANGES: readonly (readonly [number, number])[] = [
  [0x1100, 0x115f], // Hangul Jamo, leading consonants
  [0x2329, 0x232a], // angle brackets
  [0x2e80, 0x303e], // CJK radicals, Kangxi radicals, CJK symbols and punctuation
  [0x3041, 0x33ff], // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, CJK enclosed and compatibility
  [0x3400, 0x4dbf], // CJK extension A
  [0x4e00, 0x9fff], // CJK unified ideographs
  [0xa000, 0xa4cf], // Yi
  [0xa960, 0xa97f], // Hangul Jamo extended A
  [0xac00, 0xd7a3], // Hangul syllables
  [0xf900, 0xfaff], // CJK compatibility ideographs
  [0xfe10, 0xfe19], // vertical forms
  [0xfe30, 0xfe6f], // CJK compatibility forms, small form variants
  [0xff00, 0xff60], // fullwidth forms
  [0xffe0, 0xffe6], // fullwidth signs
  [0x16fe0, 0x18cff], // ideographic symbols, Tangut, Khitan
  [0x1b000, 0x1b2ff], // Kana supplement and extensions, Nushu
  [0x1f200, 0x1f2ff], // enclosed ideographic supplement
  [0x20000, 0x3fffd], // CJK extensions B and later
];

const ZERO_WIDTH = /[\p{Mn}\p{Me}\p{Default_Ignorable_Code_Point}\u1160-\u11ff]/u;
const EMOJI = /\p{Emoji_Presentation}/u;
const PICTOGRAPHIC = /\p{Extended_Pictographic}/u;
const MODIFIER = /\p{Emoji_Modifier}/u;
const ZWJ = 0x200d;
const EMOJI_STYLE = 0xfe0f;
const isRegionalIndicator = (cp: number) => cp >= 0x1f1e6 && cp <= 0x1f1ff;

function isWide(cp: number): boolean {
  for (const [from, to] of WIDE_RANGES) {
    if (cp < from) return false;
    if (cp <= to) return true;
  }
  return false;
}

/**
 * Columns of the code point `cp`, given the one before it. Marks, joiners and selectors take
 * none; an emoji joined to the one before it (a family, a skin tone) and the second of a pair of
 * flag letters take none, a text symbol made emoji by U+FE0F one more: as terminals draw them
 * today. Counting an emoji wider than an old terminal draws it only wastes a column; counting it
 * narrower would overflow the line.
 */
function columnsOf(cp: number, prev: number, prevColumns: number, secondFlagLetter: boolean): number {
  if (cp >= 0x20 && cp < 0x7f) return 1;
  if (cp < 0xa0) return 0; // control characters: stripped before they get here
  if (cp < 0x300) return 1; // Latin-1 and Latin extended: the common case, no lookups
  const char = String.fromCodePoint(cp);
  if (cp === EMOJI_STYLE) return prevColumns === 1 && PICTOGRAPHIC.test(String.fromCodePoint(prev)) ? 1 : 0;
  if (ZERO_WIDTH.test(char)) return 0;
  if (prev === ZWJ && PICTOGRAPHIC.test(char)) return 0;
  if (prevColumns === 2 && MODIFIER.test(char)) return 0;
  if (isRegionalIndicator(cp)) return secondFlagLetter ? 0 : 2;
  return isWide(cp) || EMOJI.test(char) ? 2 : 1;
}

const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

/** Adds up columns until taking the next character would pass `limit`; `end` is where it stopped. */
function measure(text: string, limit: number): { width: number; end: number } {
  // Most lines are plain ASCII, a column per character: no walk. Up to one past the limit, since
  // that character decides where the cut falls (a mark after it would still belong to it).
  const head = text.length > limit ? text.slice(0, limit + 1) : text;
  if (PRINTABLE_ASCII.test(head)) {
    const end = Math.min(text.length, limit);
    return { width: end, end };
  }
  let width = 0;
  let end = 0;
  let prev = 0;
  let prevColumns = 0;
  let flagHalf = false; // after the first of a pair of regional indicators
  for (let i = 0; i < text.length; ) {
    const cp = text.codePointAt(i)!;
    const columns = columnsOf(cp, prev, prevColumns, flagHalf);
    if (columns > 0 && width + columns > limit) break;
    width += columns;
    i += cp > 0xffff ? 2 : 1;
    end = i;
    flagHalf = isRegionalIndicator(cp) && !flagHalf;
    if (cp === EMOJI_STYLE) prevColumns += columns;
    else if (columns > 0) prevColumns = columns;
    prev = cp;
  }
  return { width, end };
}

/** The columns `text` takes in a terminal. */
export function displayWidth(text: string): number {
  return measure(text, Number.POSITIVE_INFINITY).width;
}

/** The longest start of `text` that takes at most `columns` columns. */
export function sliceToWidth(text: string, columns: number): string {
  return text.slice(0, measure(text, Math.max(0, columns)).end);
}

/** True when `text` takes at most `columns` columns (stops counting there: lines can be long). */
export function fitsWidth(text: string, columns: number): boolean {
  return measure(text, columns).end === text.length;
}

/** The shortest end of `text` that takes at most `columns` columns. */
export function sliceEndToWidth(text: string, columns: number): string {
  const skip = displayWidth(text) - Math.max(0, columns);
  if (skip <= 0) return text;
  // The first `skip` columns go, and a wide character they split goes whole.
  const { width, end } = measure(text, skip);
  return text.slice(width < skip ? measure(text, width + 2).end : end);
}
