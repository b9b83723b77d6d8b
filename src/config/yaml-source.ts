// A YAML file parsed with its node positions kept, so every later error can point at the exact
// line and column of the value (or key) it is about (see CORE-005, errors).
import {
  type Alias,
  type Document,
  isAlias,
  isMap,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  type Pair,
  parseDocument,
  visit,
  type YAMLMap,
} from 'yaml';
import type { ConfigError } from '../errors/config-error.js';
import { noteAnchorOrAlias } from './alias-expansion.js';
import { isMergePair } from './merge-keys.js';
import { formatPath, type PathSegment } from './path-format.js';
import { aliasStructureErrors } from './yaml-alias-checks.js';
import { MAX_NESTING, tooDeepOffset } from './yaml-nesting.js';

export type { PathSegment };

export interface Position {
  readonly line: number;
  readonly column: number;
}

export interface YamlSource {
  /** Absolute path. */
  readonly path: string;
  /** The path as shown to the user in errors. */
  readonly displayPath: string;
  readonly text: string;
  readonly document: Document.Parsed;
  readonly lineCounter: LineCounter;
  /** The plain data, or undefined when the YAML itself is broken. */
  readonly data: unknown;
  readonly errors: readonly ConfigError[];
}

export function parseYamlSource(path: string, displayPath: string, text: string): YamlSource {
  try {
    return parseWhole(path, displayPath, text);
  } catch (error) {
    if (isStackOverflow(error)) return nestedTooDeeply(path, displayPath, text);
    throw error;
  }
}

function parseWhole(path: string, displayPath: string, text: string): YamlSource {
  const lineCounter = new LineCounter();
  // merge: `<<: *defaults` keys are common in hand-written fleets. uniqueKeys is off because the
  // yaml package checks it pairwise (quadratic in a 2,000-host map); duplicateKeyErrors does the
  // same check in one pass.
  const document = parseDocument(text, { lineCounter, merge: true, uniqueKeys: false, prettyErrors: true });
  // What the yaml package only warns about is an error here: an unknown tag (`!vault`, a typo of
  // `!!str`) would otherwise become the plain string after it, and an unknown directive be ignored.
  const problems = [...document.errors, ...document.warnings];
  // The package caught its own stack overflow (`RESOURCE_EXHAUSTION`): nested too deeply.
  if (problems.some((problem) => problem.code === 'RESOURCE_EXHAUSTION'))
    return nestedTooDeeply(path, displayPath, text);
  const errors: ConfigError[] = problems.slice(0, MAX_SYNTAX_ERRORS).map((error) => {
    const position = error.linePos?.[0] ?? { line: 1, col: 1 };
    return {
      file: displayPath,
      line: position.line,
      column: position.col,
      path: '',
      message:
        error.code === 'MULTIPLE_DOCS'
          ? 'invalid YAML: a fleet file holds one document, but this one has more (a second `---`)'
          : `invalid YAML: ${shortMessage(firstLine(error.message))}`,
      ...(error.code === 'TAG_RESOLVE_FAILED'
        ? { hint: 'a fleet file takes no custom tags: remove the tag, or quote the whole value' }
        : {}),
    };
  });
  const more = problems[MAX_SYNTAX_ERRORS];
  if (more) {
    const position = more.linePos?.[0] ?? { line: 1, col: 1 };
    errors.push({
      file: displayPath,
      line: position.line,
      column: position.col,
      path: '',
      message: `invalid YAML: ${problems.length - MAX_SYNTAX_ERRORS} more error(s) in this file`,
      hint: 'is it a fleet file?',
    });
  }
  if (errors.length === 0) {
    const structure = structureErrors(document, lineCounter, displayPath);
    // Nested too deeply, though the parse had the stack for it (a worker thread, whose stack is
    // larger: `watch` and `serve` compile there): the same error as where it runs out.
    if (structure === TOO_DEEP) return nestedTooDeeply(path, displayPath, text);
    errors.push(...structure);
  }
  const data = errors.length === 0 ? toData(document, lineCounter, displayPath, errors) : undefined;
  return { path, displayPath, text, document, lineCounter, data, errors };
}

/** The plain data; anything the checks above did not foresee is still a positioned error, not a crash. */
function toData(
  document: Document.Parsed,
  lineCounter: LineCounter,
  displayPath: string,
  errors: ConfigError[],
): unknown {
  try {
    // aliasExpansionProblem bounds the expanded size exactly; the package's own alias count
    // would refuse ordinary fleets (see alias-expansion.ts).
    return document.toJS({ maxAliasCount: -1 });
  } catch (error) {
    if (isStackOverflow(error)) throw error;
    const { line, col } = lineCounter.linePos(document.contents?.range?.[0] ?? 0);
    errors.push({
      file: displayPath,
      line,
      column: col,
      path: '',
      message: `invalid YAML: ${firstLine(String((error as Error).message))}`,
    });
    return undefined;
  }
}

function isStackOverflow(error: unknown): boolean {
  return error instanceof RangeError && /call stack/i.test(error.message);
}

/**
 * A text nested so deeply that reading it ran out of stack: one error, at the place where its
 * nesting passes MAX_NESTING levels (not where the stack happened to run out, which moves from
 * one run to the next), and nothing else of the file.
 */
function nestedTooDeeply(path: string, displayPath: string, text: string): YamlSource {
  const lineCounter = lineCounterOf(text);
  const { line, col } = lineCounter.linePos(tooDeepOffset(text) ?? 0);
  const error: ConfigError = {
    file: displayPath,
    line,
    column: col,
    path: '',
    message: `invalid YAML: nested more than ${MAX_NESTING} levels deep`,
    hint: 'is it a fleet file? One nests a few levels: hosts, a host, its vars',
  };
  return { path, displayPath, text, document: parseDocument(''), lineCounter, data: undefined, errors: [error] };
}

/** Lines and columns of a text the yaml package did not parse (or not whole), as it counts them. */
export function lineCounterOf(text: string): LineCounter {
  const lineCounter = new LineCounter();
  lineCounter.addNewLine(0);
  for (let at = text.indexOf('\n'); at >= 0; at = text.indexOf('\n', at + 1)) lineCounter.addNewLine(at + 1);
  return lineCounter;
}

/**
 * The checks a parsed file goes through before it becomes plain data (CORE-005), in one walk of
 * the document; the same walk keeps names and text as written (`keepWrittenText`). yaml's `visit`
 * builds the list of a node's ancestors at every node: one walk of a 2,000-host fleet costs 30-70
 * ms, and there used to be six. Only the first kind of error found is reported, in this order:
 * duplicate keys, NUL bytes, keys that are mappings or lists, then aliases naming no anchor, merge
 * keys and what aliases expand to (yaml-alias-checks.ts). A document nesting more than
 * MAX_NESTING collections is that alone (TOO_DEEP).
 */
function structureErrors(
  document: Document.Parsed,
  lineCounter: LineCounter,
  displayPath: string,
): ConfigError[] | typeof TOO_DEEP {
  const duplicates: ConfigError[] = [];
  const nulBytes: ConfigError[] = [];
  const collectionKeys: ConfigError[] = [];
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  const unresolved: Alias[] = [];
  const mergePairs: Pair[] = [];
  const error = (offset: number, path: readonly PathSegment[], message: string, hint: string): ConfigError => {
    const { line, col } = lineCounter.linePos(offset);
    return { file: displayPath, line, column: col, path: formatPath(path), message, hint };
  };
  let tooDeep = false;
  visit(document, (key, node, ancestors) => {
    // Counted only where it may be past the limit: a collection has fewer collections above it
    // than ancestors.
    if ((isMap(node) || isSeq(node)) && ancestors.length >= MAX_NESTING && collectionsIn(ancestors) >= MAX_NESTING) {
      tooDeep = true;
      return visit.BREAK;
    }
    noteAnchorOrAlias(node, anchors, targets);
    if (isAlias(node) && !targets.has(node)) unresolved.push(node);
    if (isMap(node)) {
      duplicates.push(...duplicateKeys(node, () => pathOf(ancestors), error, lineCounter));
    } else if (isPair(node)) {
      if (isMergePair(node)) mergePairs.push(node);
      if (isMap(node.key) || isSeq(node.key)) {
        // A key is a name: `? [a, b]` or `{a: 1}: …` has no meaning here (YAML would make a string of it).
        collectionKeys.push(
          error(
            node.key.range?.[0] ?? 0,
            pathOf(ancestors),
            `a key must be a name, not a ${isMap(node.key) ? 'mapping' : 'list'}`,
            'write the name as the key',
          ),
        );
      }
      keepWrittenText(node, ancestors);
    } else if (isScalar(node) && typeof node.value === 'string' && node.value.includes('\0')) {
      // No command line, argument or environment variable can hold a NUL byte (`"\0"` in a quoted
      // scalar): such a value could only fail when a command starts (see CORE-001, spawn failures),
      // so it is refused here, wherever it is written, even where no command uses it yet.
      nulBytes.push(
        error(
          node.range?.[0] ?? 0,
          // A key's path would print the NUL itself: name the mapping that holds it instead.
          key === 'key' ? pathOf(ancestors).slice(0, -1) : pathOf([...ancestors, node]),
          `${key === 'key' ? 'a key' : 'value'} contains a NUL byte (\\0), which no command or environment variable can carry`,
          'remove the NUL byte',
        ),
      );
    }
  });
  if (tooDeep) return TOO_DEEP;
  for (const found of [duplicates, nulBytes, collectionKeys]) if (found.length > 0) return found;
  return aliasStructureErrors(document, lineCounter, displayPath, { targets, anchors, unresolved, mergePairs });
}

/** What structureErrors finds of a document that nests more than MAX_NESTING collections. */
const TOO_DEEP = Symbol('nested too deeply');

function collectionsIn(ancestors: readonly unknown[]): number {
  let n = 0;
  for (const node of ancestors) if (isMap(node) || isSeq(node)) n++;
  return n;
}

/** A key repeated in one mapping is almost always a copy-paste mistake that drops a value. */
function duplicateKeys(
  map: YAMLMap,
  pathOfMap: () => PathSegment[],
  error: (offset: number, path: readonly PathSegment[], message: string, hint: string) => ConfigError,
  lineCounter: LineCounter,
): ConfigError[] {
  const errors: ConfigError[] = [];
  const seen = new Map<string, number>();
  for (const pair of map.items) {
    // The name the key becomes (keepWrittenText): `007` and `7` are two hosts, not one written twice.
    const key = isScalar(pair.key) && pair.key.source !== undefined ? pair.key.source : keyText(pair.key);
    const offset = startOf(pair.key);
    if (key === undefined || offset === undefined) continue;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, offset);
      continue;
    }
    errors.push(
      error(
        offset,
        [...pathOfMap(), key],
        `duplicate key \`${key}\`, first written at line ${lineCounter.linePos(first).line}`,
        'a repeated key would silently replace the first value; rename or merge them',
      ),
    );
  }
  return errors;
}

/**
 * Names and text as written (CORE-005): a key is always a name, so `007:` is the host `007`, not
 * 7, and `1e3:` not 1000 (an ssh host's address defaults to its name); a host var or an op's env
 * value is text, so `1.10` stays `1.10` and `0x10` stays `0x10`. YAML's core schema would make
 * numbers, booleans or null of them. Other values (`concurrency: 10`) keep their YAML type.
 */
function keepWrittenText(pair: Pair, ancestors: readonly unknown[]): void {
  if (isScalar(pair.key) && typeof pair.key.value !== 'string' && pair.key.source !== undefined) {
    pair.key.value = pair.key.source;
  }
  if (isScalar(pair.value) && typeof pair.value.value === 'number' && pair.value.source !== undefined) {
    if (holdsText(pathOf(ancestors))) pair.value.value = pair.value.source;
  }
}

/** `hosts.NAME.vars` and `ops.NAME.env`: maps whose values are text. */
function holdsText(path: readonly PathSegment[]): boolean {
  return path.length === 3 && ((path[0] === 'hosts' && path[2] === 'vars') || (path[0] === 'ops' && path[2] === 'env'));
}

function pathOf(ancestors: readonly unknown[]): PathSegment[] {
  const path: PathSegment[] = [];
  for (const [index, node] of ancestors.entries()) {
    if (isPair(node)) {
      const key = keyText(node.key);
      if (key !== undefined) path.push(key);
    } else if (isSeq(node)) {
      const child = ancestors[index + 1];
      path.push(node.items.indexOf(child as never));
    }
  }
  return path;
}

/**
 * A binary or other non-YAML file yields an error per line, some quoting whole lines of it (an
 * included `/usr/bin/ssh` printed 3.5 MB): show the first few, each cut short (see CORE-005).
 */
const MAX_SYNTAX_ERRORS = 10;
const MAX_MESSAGE_LENGTH = 160;

function shortMessage(message: string): string {
  const clean = message.replace(/[\u0000-\u001f\u007f]/g, ' ');
  const chars = [...clean];
  return chars.length <= MAX_MESSAGE_LENGTH ? clean : `${chars.slice(0, MAX_MESSAGE_LENGTH).join('')}...`;
}

function firstLine(message: string): string {
  const line = message.split('\n')[0] ?? message;
  return line.replace(/ at line \d+, column \d+:?$/, '');
}

export function positionAt(source: YamlSource, offset: number): Position {
  const { line, col } = source.lineCounter.linePos(offset);
  return { line, column: col };
}

/**
 * Where the value at `path` is written: `key` points at the key naming it (best for "unknown
 * property", "missing field", "duplicate id"), `value` at the value itself. A path that does not
 * exist in the document resolves to the deepest part that does.
 */
export function locate(source: YamlSource, path: readonly PathSegment[], target: 'key' | 'value'): Position {
  return positionAt(source, locateOffset(source, path, target));
}

export function locateNode(source: YamlSource, path: readonly PathSegment[]): Node | undefined {
  let node: unknown = source.document.contents;
  for (const segment of path) {
    const next = childOf(node, segment);
    if (next === undefined) return undefined;
    node = next.value;
  }
  return isNode(node) ? node : undefined;
}

function locateOffset(source: YamlSource, path: readonly PathSegment[], target: 'key' | 'value'): number {
  let node: unknown = source.document.contents;
  let offset = startOf(node) ?? 0;
  for (const [index, segment] of path.entries()) {
    const child = childOf(node, segment);
    if (child === undefined) return offset;
    const isLast = index === path.length - 1;
    const keyOffset = startOf(child.key);
    const valueOffset = startOf(child.value);
    if (isLast) return (target === 'key' ? (keyOffset ?? valueOffset) : (valueOffset ?? keyOffset)) ?? offset;
    offset = keyOffset ?? valueOffset ?? offset;
    node = child.value;
  }
  return offset;
}

function childOf(node: unknown, segment: PathSegment): { key: unknown; value: unknown } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      if (isPair(pair) && keyText(pair.key) === String(segment)) return { key: pair.key, value: pair.value };
    }
    return undefined;
  }
  if (isSeq(node) && /^\d+$/.test(String(segment))) {
    const item = node.items[Number(segment)];
    return item === undefined ? undefined : { key: undefined, value: item };
  }
  return undefined;
}

function keyText(key: unknown): string | undefined {
  if (isScalar(key)) return String(key.value);
  return typeof key === 'string' ? key : undefined;
}

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && 'range' in value;
}

function startOf(node: unknown): number | undefined {
  return isNode(node) && node.range ? node.range[0] : undefined;
}

/** Positions of every key of the map at `path` (one pass, so large sections stay linear). */
export function keyPositions(source: YamlSource, path: readonly PathSegment[]): Map<string, Position> {
  const positions = new Map<string, Position>();
  const node = path.length === 0 ? source.document.contents : locateNode(source, path);
  if (!isMap(node)) return positions;
  for (const pair of node.items) {
    const key = keyText(pair.key);
    const offset = startOf(pair.key);
    if (key !== undefined && offset !== undefined) positions.set(key, positionAt(source, offset));
  }
  return positions;
}

/**
 * Where `needle` (e.g. one `{{ ... }}` placeholder, found at `offsetInValue` of the parsed string)
 * is written inside the scalar at `path`. Quoting and folding can move text around, so this
 * searches the raw source of the scalar and falls back to the scalar's start.
 */
export function locateInScalar(
  source: YamlSource,
  path: readonly PathSegment[],
  needle: string,
  occurrence: number,
): Position {
  const node = locateNode(source, path);
  if (!node?.range) return locate(source, path, 'value');
  const raw = source.text.slice(node.range[0], node.range[1]);
  let at = -1;
  for (let i = 0; i <= occurrence; i++) {
    at = raw.indexOf(needle, at + 1);
    if (at === -1) return positionAt(source, node.range[0]);
  }
  return positionAt(source, node.range[0] + at);
}
