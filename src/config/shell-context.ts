// Where in a shell command each placeholder stands (see CORE-005, templating). A substituted
// value is shell-quoted for a bare word (`echo {{ host.vars.x }}`); written anywhere else the
// quotes themselves become the way out: inside "..." or '...' they close the surrounding quote,
// inside a here-document or a comment they are plain text and a newline ends the line, behind a
// backslash or `$` they stop quoting. Those positions are refused, never quoted differently.
//
// The scan follows POSIX sh lexing closely enough to tell a bare word from every quoting context:
// quotes, backslashes, `$'...'`, backquotes, `$(...)`, `${...}`, `$((...))`, comments and
// here-documents, and bash's `((...))` arithmetic command: where a command starts with `((`, bash
// expands its text as between double quotes, so a quoted value's `$(...)` runs (dash reads two
// subshells there; the scan refuses what either would run). A line continuation (`\` and a newline) is removed as the shell removes it, so
// it can neither hide the `#` of a comment nor split a `<<`. When it cannot be sure (e.g. `case`
// patterns inside `$(...)`) it errs towards a quoting context, so a mistake refuses a placeholder
// rather than letting one through. Where shells disagree it refuses what any of them would run:
// dash has no `$'...'` and reads `$'it\'s'` as `$` and a plain `'it\'`, so after a `$'...'`
// holding `\'` the two readings no longer agree on what is quoted. It also cuts the text into
// simple commands, for bash-evaluation.ts: even a bare word is code where bash evaluates it as
// arithmetic or a variable's name (`let {{ x }}`, `[[ {{ x }} -eq 1 ]]`, `a[{{ x }}]=1`), and
// so is bash's old arithmetic `$[...]`.

import { declaresIntegers, type EvaluatedContext, evaluatedPlaceholders } from './bash-evaluation.js';

/** One placeholder in the command text: its offset and length as written. */
export interface PlaceholderSpan {
  readonly offset: number;
  readonly length: number;
}

/** Why a placeholder cannot stand where it is; each ends the sentence "`{{ x }}` is ...". */
export type UnsafeContext =
  | 'inside double quotes'
  | 'inside single quotes'
  | "inside `$'...'` quotes"
  | 'inside backquotes'
  | 'inside a `${...}` expansion'
  | 'inside `$((...))` arithmetic'
  | 'inside `((...))` arithmetic'
  | 'inside `$[...]` arithmetic'
  | EvaluatedContext
  | 'inside a here-document'
  | 'in a here-document delimiter'
  | 'inside a comment'
  | 'right after a backslash'
  | 'right after `$`'
  | "after a `$'...'` string holding `\\'`, which shells read differently";

export const AFTER_ANSI_ESCAPED_QUOTE: UnsafeContext =
  "after a `$'...'` string holding `\\'`, which shells read differently";

type FrameKind = 'top' | 'cmdsub' | 'dq' | 'sq' | 'ansi' | 'bq' | 'param' | 'arith' | 'arithcmd' | 'arithbracket';

interface Frame {
  readonly kind: FrameKind;
  /** Open parentheses (cmdsub, arith), braces (param) or brackets (arithbracket) not yet closed inside this frame. */
  depth: number;
  /** In `top` and `cmdsub`: the simple command being read, for bash-evaluation.ts. */
  readonly command?: SimpleCommand;
}

interface SimpleCommand {
  start: number;
  /** The placeholders in its bare words. */
  bare: number[];
  /** Inside `[[ ... ]]`, where `&&`, `||` and parentheses do not end it. */
  test: boolean;
}

const commandFrame = (kind: 'top' | 'cmdsub', start: number): Frame => ({
  kind,
  depth: 0,
  command: { start, bare: [], test: false },
});

const FRAME_CONTEXT: Record<Exclude<FrameKind, 'top' | 'cmdsub'>, UnsafeContext> = {
  dq: 'inside double quotes',
  sq: 'inside single quotes',
  ansi: "inside `$'...'` quotes",
  bq: 'inside backquotes',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax in a message, not a JS template
  param: 'inside a `${...}` expansion',
  arith: 'inside `$((...))` arithmetic',
  arithcmd: 'inside `((...))` arithmetic',
  arithbracket: 'inside `$[...]` arithmetic',
};

/** Where a simple command ends, outside `[[ ... ]]`. */
const COMMAND_END = /[;&|\n()]/;

/** Characters after which a `#` starts a comment (a new word begins). */
const WORD_BREAK = /[\s;&|()<>]/;

/** The placeholders that stand anywhere but in a bare word, by offset, with the reason. */
export function unsafePlaceholders(text: string, placeholders: readonly PlaceholderSpan[]): Map<number, UnsafeContext> {
  const lengths = new Map(placeholders.map((p) => [p.offset, p.length]));
  const found = new Map<number, UnsafeContext>();
  const flag = (offset: number, why: UnsafeContext) => {
    if (!found.has(offset)) found.set(offset, why);
  };
  const flagRange = (from: number, to: number, why: UnsafeContext) => {
    for (const offset of lengths.keys()) if (offset >= from && offset < to) flag(offset, why);
  };
  const stack: Frame[] = [commandFrame('top', 0)];
  const integers = declaresIntegers(text);
  // CORE-005: a simple command ends here; its bare placeholders that bash evaluates are refused.
  const endCommand = (command: SimpleCommand, end: number, next: number) => {
    if (command.bare.length > 0) {
      const evaluated = evaluatedPlaceholders(text, command.start, end, command.bare, lengths, integers);
      for (const [offset, why] of evaluated) flag(offset, why);
    }
    command.start = next;
    command.bare = [];
    command.test = false;
  };
  const pendingHeredocs: { delimiter: string; stripTabs: boolean; quoted: boolean }[] = [];
  let wordStart = true;
  let i = 0;
  /** Where the first `\'` inside `$'...'` stands: from there on, shells disagree on the quoting. */
  let ambiguousFrom: number | undefined;

  /** Past the line continuations at `j`: where unquoted or in "...", the shell reads on from there. */
  const skipContinuations = (j: number) => {
    let at = j;
    while (text[at] === '\\' && text[at + 1] === '\n') at += 2;
    return at;
  };

  // A backslash quotes the next character: in front of a placeholder it would quote the
  // value's opening quote instead.
  const backslash = () => {
    if (lengths.has(i + 1)) {
      flag(i + 1, 'right after a backslash');
      i += 1;
    } else i += 2;
  };
  const dollar = (frame: Frame) => {
    const next = skipContinuations(i + 1);
    if (lengths.has(next)) {
      flag(next, 'right after `$`');
      i = next;
    } else if (text[next] === '(' && text[skipContinuations(next + 1)] === '(') {
      stack.push({ kind: 'arith', depth: 0 });
      i = skipContinuations(next + 1) + 1;
    } else if (text[next] === '(') {
      stack.push(commandFrame('cmdsub', next + 1));
      i = next + 1;
    } else if (text[next] === '[') {
      stack.push({ kind: 'arithbracket', depth: 0 }); // bash's old `$[...]`
      i = next + 1;
    } else if (text[next] === '{') {
      stack.push({ kind: 'param', depth: 0 });
      i = next + 1;
    } else if (text[next] === "'" && frame.kind !== 'dq') {
      stack.push({ kind: 'ansi', depth: 0 });
      i = next + 1;
    } else i += 1;
  };
  // `i` is at the first `<`, `second` at the other.
  const heredocOperator = (second: number) => {
    let j = skipContinuations(second + 1);
    if (text[j] === '<') {
      i = j + 1; // `<<<` is a here-string: its word is an ordinary word
      return;
    }
    const stripTabs = text[j] === '-';
    if (stripTabs) j = skipContinuations(j + 1);
    while (text[j] === ' ' || text[j] === '\t') j = skipContinuations(j + 1);
    const from = j;
    let delimiter = '';
    let quoted = false;
    while (j < text.length && !WORD_BREAK.test(text[j] as string)) {
      const placeholder = lengths.get(j);
      if (placeholder !== undefined) {
        j += placeholder;
        continue;
      }
      const c = text[j] as string;
      if (c === '\\' && text[j + 1] === '\n') {
        j += 2;
      } else if (c === "'" || c === '"') {
        const close = text.indexOf(c, j + 1);
        const end = close === -1 ? text.length : close;
        delimiter += text.slice(j + 1, end);
        quoted = true;
        j = end + 1;
      } else if (c === '\\') {
        delimiter += text[j + 1] ?? '';
        quoted = true;
        j += 2;
      } else {
        delimiter += c;
        j++;
      }
    }
    flagRange(from, j, 'in a here-document delimiter');
    pendingHeredocs.push({ delimiter, stripTabs, quoted });
    i = j;
  };
  // After the newline that ends the line of a `<<` operator come the documents' bodies. In a
  // document whose delimiter is not quoted, a line ending in `\` goes on on the next line, which
  // therefore never ends the document (bash would end it where the joined line is the delimiter,
  // dash not: reading on refuses what either would see as the document).
  const heredocBodies = () => {
    let pos = i + 1;
    for (const doc of pendingHeredocs) {
      let continued = false;
      while (pos < text.length) {
        const newline = text.indexOf('\n', pos);
        const end = newline === -1 ? text.length : newline;
        const line = text.slice(pos, end);
        const next = newline === -1 ? text.length : newline + 1;
        if (!continued && (doc.stripTabs ? line.replace(/^\t+/, '') : line) === doc.delimiter) {
          pos = next;
          break;
        }
        flagRange(pos, end, 'inside a here-document');
        continued = !doc.quoted && /(?:^|[^\\])(?:\\\\)*\\$/.test(line);
        pos = next;
      }
    }
    pendingHeredocs.length = 0;
    i = pos;
  };

  while (i < text.length) {
    const frame = stack[stack.length - 1] as Frame;
    const placeholder = lengths.get(i);
    if (placeholder !== undefined) {
      if (frame.command === undefined) flag(i, FRAME_CONTEXT[frame.kind as keyof typeof FRAME_CONTEXT]);
      else frame.command.bare.push(i);
      i += placeholder;
      wordStart = false;
      continue;
    }
    const c = text[i] as string;
    if (frame.kind === 'sq') {
      if (c === "'") stack.pop();
      i++;
      continue;
    }
    if (frame.kind === 'ansi' || frame.kind === 'bq') {
      if (c === '\\') {
        if (frame.kind === 'ansi' && text[i + 1] === "'") ambiguousFrom ??= i;
        backslash();
      } else {
        if (c === (frame.kind === 'ansi' ? "'" : '`')) stack.pop();
        i++;
      }
      continue;
    }
    if (frame.kind === 'dq') {
      if (c === '\\') backslash();
      else if (c === '$') dollar(frame);
      else {
        if (c === '"') stack.pop();
        else if (c === '`') stack.push({ kind: 'bq', depth: 0 });
        i++;
      }
      continue;
    }
    // top, cmdsub, param, arith, arithcmd: unquoted text.
    const isCommand = frame.kind === 'top' || frame.kind === 'cmdsub';
    if (c === '\\' && text[i + 1] === '\n') {
      i += 2; // a line continuation: gone before the shell reads on, so whether a word starts is unchanged
      continue;
    }
    const startsWord = wordStart;
    wordStart = WORD_BREAK.test(c);
    if (c === '\\') {
      backslash();
      continue;
    }
    if (c === '$') {
      dollar(frame);
      continue;
    }
    if (c === '#' && startsWord && isCommand) {
      const newline = text.indexOf('\n', i);
      const end = newline === -1 ? text.length : newline;
      flagRange(i, end, 'inside a comment');
      i = end;
      wordStart = true;
      continue;
    }
    if (c === '<' && text[skipContinuations(i + 1)] === '<' && isCommand) {
      heredocOperator(skipContinuations(i + 1));
      continue;
    }
    const command = frame.command;
    if (c === '\n' && command !== undefined && pendingHeredocs.length > 0) {
      endCommand(command, i, i);
      heredocBodies();
      command.start = i;
      continue;
    }
    if (c === '(' && startsWord && isCommand && text[skipContinuations(i + 1)] === '(') {
      // bash's `((...))` (also `for ((...))`); CORE-005.
      stack.push({ kind: 'arithcmd', depth: 0 });
      i = skipContinuations(i + 1) + 1;
      wordStart = true;
      continue;
    }
    if (command !== undefined && startsWord && c === '[' && text[i + 1] === '[' && /\s/.test(text[i + 2] ?? '')) {
      command.test = true; // `[[`: its `&&`, `||` and parentheses are its own
    } else if (command?.test && startsWord && c === ']' && text[i + 1] === ']' && WORD_BREAK.test(text[i + 2] ?? ' ')) {
      command.test = false;
      i += 2;
      continue;
    } else if (command !== undefined && !command.test && COMMAND_END.test(c) && !(c === '(' && text[i - 1] === '=')) {
      // (`name=(...)` is an array's elements, part of the command that assigns them.)
      endCommand(command, i, i + 1);
      if (c === ')' && frame.kind === 'cmdsub' && frame.depth === 0) {
        stack.pop();
        i++;
        continue;
      }
    }
    if (c === "'") stack.push({ kind: 'sq', depth: 0 });
    else if (c === '"') stack.push({ kind: 'dq', depth: 0 });
    else if (c === '`') stack.push({ kind: 'bq', depth: 0 });
    else if (c === '(' && (frame.kind === 'cmdsub' || frame.kind === 'arith' || frame.kind === 'arithcmd'))
      frame.depth++;
    else if (c === '{' && frame.kind === 'param') frame.depth++;
    else if (c === '[' && frame.kind === 'arithbracket') frame.depth++;
    else if (c === ']' && frame.kind === 'arithbracket') {
      if (frame.depth === 0) stack.pop();
      else frame.depth--;
    } else if (c === ')' && frame.kind === 'cmdsub') {
      if (frame.depth === 0) stack.pop();
      else frame.depth--;
    } else if (c === ')' && (frame.kind === 'arith' || frame.kind === 'arithcmd')) {
      if (frame.depth === 0 && text[i + 1] === ')') {
        stack.pop();
        i++;
      } else if (frame.depth > 0) frame.depth--;
    } else if (c === '}' && frame.kind === 'param') {
      if (frame.depth === 0) stack.pop();
      else frame.depth--;
    }
    i++;
  }
  for (const frame of stack) if (frame.command !== undefined) endCommand(frame.command, text.length, text.length);
  if (ambiguousFrom !== undefined) flagRange(ambiguousFrom, text.length, AFTER_ANSI_ESCAPED_QUOTE);
  return found;
}
