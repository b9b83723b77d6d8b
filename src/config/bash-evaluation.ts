// Where bash evaluates a bare word as arithmetic or reads it as a variable's name (see CORE-005,
// templating). There quoting does not hold: bash evaluates the subscript of a name such as
// `a[$(touch x)]`, and runs its `$(...)`, even when that text came in single quotes. So a
// placeholder is refused in the arguments of `let`, of `declare`, `typeset`, `local` and
// `readonly` where they take a name or an integer, of `read`, `mapfile`, `readarray`, `unset`
// and `getopts`, after `printf -v`, `test -v` and `[ -v`, in a `[[ ... ]]` that compares numbers
// or uses `-v`, in an array subscript (`a[{{ x }}]=1`, `a=([{{ x }}]=1)`), and in any assignment
// of a command that declares integer variables. dash has none of these (its `let` is not found):
// the check refuses what bash would run, whatever the shell, as the rest of the scan does.
//
// It reads one simple command at a time (`shell-context.ts` cuts the text at `;`, `&`, `|`,
// newlines and parentheses other than an array's `=(`, and keeps a `[[ ... ]]` whole) split at
// blanks; a quoted argument with blanks in it splits too, which can only move a placeholder into
// a refused position.

/** Bash builtins that read (some of) their arguments as names or arithmetic. */
export type EvaluatingBuiltin =
  | 'let'
  | 'declare'
  | 'typeset'
  | 'local'
  | 'readonly'
  | 'read'
  | 'mapfile'
  | 'readarray'
  | 'unset'
  | 'getopts'
  | 'printf -v'
  | 'test -v';

export type EvaluatedContext =
  | `in an argument of \`${EvaluatingBuiltin}\``
  | 'in a `[[ ... ]]` test that compares numbers or uses `-v`'
  | 'in an array subscript'
  | 'in an assignment, in a command that declares integer variables';

const WORD_CONTEXTS: ReadonlySet<string> = new Set<EvaluatedContext>([
  'in a `[[ ... ]]` test that compares numbers or uses `-v`',
  'in an array subscript',
  'in an assignment, in a command that declares integer variables',
]);

export function isEvaluatedContext(context: string): context is EvaluatedContext {
  return WORD_CONTEXTS.has(context) || context.startsWith('in an argument of `');
}

/** Every argument is a name or an expression. */
const ALL_ARGUMENTS = new Set(['let', 'read', 'mapfile', 'readarray', 'unset', 'getopts']);
/** A name (or `name=value`, whose value is evaluated only for an integer or a reference). */
const DECLARING = new Set(['declare', 'typeset', 'local', 'readonly']);
/** Words before the command itself. */
const LEADING = new Set([
  '!',
  '{',
  '}',
  'if',
  'then',
  'else',
  'elif',
  'do',
  'while',
  'until',
  'time',
  'builtin',
  'command',
]);
const ASSIGNMENT = /^[A-Za-z_]\w*(?:\[[^\]]*\])?\+?=/;
const REDIRECTION = /^\d*(?:<<<|<<-?|<>|>>|>\||&>>?|[<>]&?)/;
const NUMERIC_TEST = new Set(['-eq', '-ne', '-lt', '-le', '-gt', '-ge', '-v']);
/** `declare -i`, `local -ai`, `typeset -i` and the like anywhere in the command text. */
const DECLARES_INTEGERS = /(?:^|[\s;&|(){}])(?:declare|typeset|local)\s+(?:[-+][A-Za-z]*\s+)*[-+][A-Za-z]*i/;

export function declaresIntegers(text: string): boolean {
  return DECLARES_INTEGERS.test(text);
}

interface Word {
  readonly start: number;
  readonly text: string;
}

/**
 * The placeholders (by offset in `text`) of the simple command `text[from, to)` that bash would
 * evaluate, with the reason. `placeholders` are those in bare words there; `all` every
 * placeholder in the text by offset and length, so that their blanks do not split words.
 */
export function evaluatedPlaceholders(
  text: string,
  from: number,
  to: number,
  placeholders: readonly number[],
  all: ReadonlyMap<number, number>,
  integers: boolean,
): Map<number, EvaluatedContext> {
  let masked = text.slice(from, to);
  for (const [offset, length] of all) {
    if (offset >= from && offset < to) {
      masked = masked.slice(0, offset - from) + 'x'.repeat(length) + masked.slice(offset - from + length);
    }
  }
  const words: Word[] = [...masked.matchAll(/\S+/g)].map((m) => ({ start: from + m.index, text: m[0] }));
  let first = 0;
  while (first < words.length && (LEADING.has(words[first]!.text) || ASSIGNMENT.test(words[first]!.text))) first++;
  const command = words[first]?.text;
  const args = words.slice(first + 1);
  const options = args.filter((w) => /^[-+][A-Za-z]/.test(w.text)).map((w) => w.text);
  const found = new Map<number, EvaluatedContext>();
  for (const offset of placeholders) {
    const index = words.findIndex((w) => offset >= w.start && offset < w.start + w.text.length);
    const word = words[index];
    if (word === undefined) continue;
    const why = contextOf(offset, word, index);
    if (why !== undefined) found.set(offset, why);
  }
  return found;

  function contextOf(offset: number, word: Word, index: number): EvaluatedContext | undefined {
    const before = word.text.slice(0, offset - word.start);
    const after = word.text.slice(offset - word.start + (all.get(offset) ?? 0));
    if (/\[[^\]]*$/.test(before) && /^[^[]*\]\+?=/.test(after)) return 'in an array subscript';
    if (integers && ASSIGNMENT.test(word.text) && before.includes('=')) {
      return 'in an assignment, in a command that declares integer variables';
    }
    if (command === '[[' && index > first && options.some((o) => NUMERIC_TEST.has(o))) {
      return 'in a `[[ ... ]]` test that compares numbers or uses `-v`';
    }
    if (index <= first || isRedirected(index)) return undefined;
    if (command !== undefined && ALL_ARGUMENTS.has(command))
      return `in an argument of \`${command}\`` as EvaluatedContext;
    if (command !== undefined && DECLARING.has(command)) {
      const nameOrInteger = options.some((o) => /[in]/.test(o.slice(1))) || !before.includes('=');
      return nameOrInteger ? (`in an argument of \`${command}\`` as EvaluatedContext) : undefined;
    }
    const afterV = words[index - 1]?.text === '-v' || before === '-v';
    if (command === 'printf' && afterV) return 'in an argument of `printf -v`';
    if ((command === 'test' || command === '[') && afterV) return 'in an argument of `test -v`';
    return undefined;
  }

  /** The word is where a redirection writes or reads, not an argument. */
  function isRedirected(index: number): boolean {
    const word = words[index]!.text;
    const previous = words[index - 1]?.text;
    return (
      REDIRECTION.test(word) ||
      (previous !== undefined && REDIRECTION.test(previous) && REDIRECTION.exec(previous)![0] === previous)
    );
  }
}
