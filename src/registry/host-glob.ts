// Globs in host selectors (see CORE-005, selectors): `*`, `?`, `[...]` and `{a,b}` against host
// ids, nothing more. A general glob engine compiles to a backtracking regular expression, and a
// term like `*(*(*(e*)*)*)*x` or `*e*e*e*e*e*e*e*e*x` then takes exponential or high-polynomial
// time against a 25-character id, freezing `validate`, `serve` and `watch`. Here braces expand
// to a bounded number of alternatives and each alternative is matched with the two-pointer
// wildcard algorithm, which never revisits more than one `*`: O(id × term) per alternative.

export type HostGlob =
  | { readonly ok: true; readonly matches: (id: string) => boolean }
  | { readonly ok: false; readonly message: string; readonly hint: string };

/** Longest glob term accepted; with MAX_ALTERNATIVES this bounds the work per host id. */
export const MAX_GLOB_LENGTH = 256;
/** Most alternatives a term's braces may expand to. */
export const MAX_ALTERNATIVES = 256;

const SYNTAX = 'selector globs use `*`, `?`, `[...]` and `{a,b}` with host-id characters';
/**
 * A character that does not stand for itself in a glob (host ids use a subset of those that do):
 * a term holding one is a glob or malformed, never a plain host id.
 */
export const NOT_LITERAL = /[^A-Za-z0-9_.-]/;

type Token =
  | { readonly kind: 'star' }
  | { readonly kind: 'one' }
  | { readonly kind: 'char'; readonly char: string }
  | { readonly kind: 'class'; readonly test: (char: string) => boolean };

class GlobError extends Error {}

export function compileHostGlob(term: string): HostGlob {
  if (term.length > MAX_GLOB_LENGTH) {
    return {
      ok: false,
      message: `selector term is ${term.length} characters long, more than ${MAX_GLOB_LENGTH}`,
      hint: 'use shorter globs or tags (`@web`)',
    };
  }
  try {
    const alternatives = expandBraces(term).map(tokenize);
    return { ok: true, matches: (id) => alternatives.some((tokens) => matchTokens(tokens, id)) };
  } catch (error) {
    if (!(error instanceof GlobError)) throw error;
    return { ok: false, message: `selector term \`${term}\` ${error.message}`, hint: SYNTAX };
  }
}

/** `a{b,c{d,e}}f` -> `abf`, `acdf`, `acef`; at most MAX_ALTERNATIVES. */
function expandBraces(term: string): string[] {
  const open = term.indexOf('{');
  if (open === -1) {
    if (term.includes('}')) throw new GlobError('has a `}` without `{`');
    return [term];
  }
  if (term.slice(0, open).includes('}')) throw new GlobError('has a `}` without `{`');
  let depth = 0;
  const commas: number[] = [];
  let close = -1;
  for (let i = open; i < term.length; i++) {
    const c = term[i];
    if (c === '{') depth++;
    else if (c === '}') {
      depth--;
      if (depth === 0) {
        close = i;
        break;
      }
    } else if (c === ',' && depth === 1) commas.push(i);
  }
  if (close === -1) throw new GlobError('has a `{` that is never closed');
  const bounds = [open, ...commas, close];
  const options = bounds.slice(1).map((end, index) => term.slice((bounds[index] as number) + 1, end));
  const prefix = term.slice(0, open);
  const rests = expandBraces(term.slice(close + 1));
  const out: string[] = [];
  for (const option of options) {
    for (const middle of expandBraces(option)) {
      for (const rest of rests) {
        out.push(prefix + middle + rest);
        if (out.length > MAX_ALTERNATIVES) {
          throw new GlobError(`expands to more than ${MAX_ALTERNATIVES} alternatives`);
        }
      }
    }
  }
  return out;
}

function tokenize(glob: string): Token[] {
  const tokens: Token[] = [];
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i] as string;
    if (c === '*') {
      // `**` means what `*` means; keeping one keeps the matcher's work linear in the stars.
      if (tokens[tokens.length - 1]?.kind !== 'star') tokens.push({ kind: 'star' });
    } else if (c === '?') tokens.push({ kind: 'one' });
    else if (c === '[') {
      const close = glob.indexOf(']', i + 2);
      if (close === -1) throw new GlobError('has a `[` that is never closed');
      tokens.push(characterClass(glob.slice(i + 1, close)));
      i = close;
    } else if (!NOT_LITERAL.test(c)) tokens.push({ kind: 'char', char: c });
    else throw new GlobError(`cannot contain \`${c}\``);
  }
  return tokens;
}

/** The inside of `[...]`: characters and ranges, `!` or `^` first to negate. */
function characterClass(body: string): Token {
  const negated = body.startsWith('!') || body.startsWith('^');
  const chars = negated ? body.slice(1) : body;
  const ranges: [string, string][] = [];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] as string;
    if (NOT_LITERAL.test(c)) throw new GlobError(`cannot contain \`${c}\` in \`[...]\``);
    if (chars[i + 1] === '-' && i + 2 < chars.length) {
      const end = chars[i + 2] as string;
      if (NOT_LITERAL.test(end)) throw new GlobError(`cannot contain \`${end}\` in \`[...]\``);
      ranges.push([c, end]);
      i += 2;
    } else ranges.push([c, c]);
  }
  if (ranges.length === 0) throw new GlobError('has an empty `[]`');
  const inClass = (char: string) => ranges.some(([from, to]) => char >= from && char <= to);
  return { kind: 'class', test: (char) => inClass(char) !== negated };
}

function matchOne(token: Token, char: string): boolean {
  if (token.kind === 'one') return true;
  if (token.kind === 'char') return token.char === char;
  if (token.kind === 'class') return token.test(char);
  return false;
}

/**
 * The classic wildcard match: on a mismatch, only the latest `*` takes one more character. Earlier
 * stars never need to, since whatever the later part matches can start anywhere after them.
 */
function matchTokens(tokens: readonly Token[], id: string): boolean {
  let t = 0;
  let s = 0;
  let starAt = -1;
  let starFrom = 0;
  while (s < id.length) {
    const token = tokens[t];
    if (token !== undefined && token.kind !== 'star' && matchOne(token, id[s] as string)) {
      t++;
      s++;
    } else if (token?.kind === 'star') {
      starAt = t++;
      starFrom = s;
    } else if (starAt !== -1) {
      t = starAt + 1;
      s = ++starFrom;
    } else return false;
  }
  while (tokens[t]?.kind === 'star') t++;
  return t === tokens.length;
}
