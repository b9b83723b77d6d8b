// Turns ajv's errors into ConfigErrors a person can act on: the position of the offending key or
// value, the dotted path, a message naming the problem and, where one helps, a hint.
import type { ErrorObject } from 'ajv';
import { didYouMean } from '../domain/closest-name.js';
import { hidePassword } from '../domain/hidden-password.js';
import type { ConfigError } from '../errors/config-error.js';
import { DURATION_PATTERN } from './duration.js';
import { AMOUNT_PATTERN } from './host-amount.js';
import { formatPath } from './path-format.js';
import { VAR_KEY_PATTERN } from './template.js';
import { EXCERPT_LENGTH, quoteExcerpt } from './value-excerpt.js';
import { locate, type PathSegment, type YamlSource } from './yaml-source.js';

const ID_PATTERN = '^[a-z0-9][a-z0-9-]*$';
/** settings.store (CORE-012). */
const STORE_PATTERN = '^postgres(ql)?://';
const MAIN_FILE_ONLY = new Set(['settings', 'include', 'secrets']);
const SECRET_NAME_PATTERN = '^[A-Za-z][A-Za-z0-9_]*$';

export function schemaErrorsToConfigErrors(
  source: YamlSource,
  errors: readonly ErrorObject[],
  kind: 'main' | 'included',
): ConfigError[] {
  const out: ConfigError[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const mapped = mapError(source, error, kind);
    if (!mapped) continue;
    const key = `${mapped.line}:${mapped.column}:${mapped.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push(mapped);
  }
  return out;
}

function mapError(source: YamlSource, error: ErrorObject, kind: 'main' | 'included'): ConfigError | undefined {
  const path = pointerToPath(source.data, error.instancePath);
  const at = (segments: readonly PathSegment[], target: 'key' | 'value', message: string, hint?: string) => {
    const position = locate(source, segments, target);
    const result: ConfigError = {
      file: source.displayPath,
      line: position.line,
      column: position.column,
      path: formatPath(segments),
      message,
    };
    return hint === undefined ? result : { ...result, hint };
  };
  const params = error.params as Record<string, unknown>;
  const propertyName = (error as ErrorObject & { propertyName?: string }).propertyName;
  switch (error.keyword) {
    case 'propertyNames':
      // ajv also reports the failing keyword inside propertyNames, with the name attached.
      return undefined;
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      if (kind === 'included' && path.length === 0 && MAIN_FILE_ONLY.has(name)) {
        return at(
          [name],
          'key',
          `\`${name}\` is only allowed in the main fleet file`,
          'move it to the main fleet file',
        );
      }
      const allowed = Object.keys((error.parentSchema?.properties as object | undefined) ?? {});
      // The top level also takes `x-` keys (anchors for `<<:`), which the list should say.
      const extensions = path.length === 0 ? ', and x-NAME for YAML anchors' : '';
      const hint =
        didYouMean(name, allowed) ?? (allowed.length ? `allowed: ${allowed.join(', ')}${extensions}` : undefined);
      return at([...path, name], 'key', `unknown property ${quoteExcerpt(name)}`, hint);
    }
    case 'required': {
      const name = String(params.missingProperty);
      return at(path, 'key', `missing required property \`${name}\``);
    }
    case 'type':
      return at(
        path,
        'value',
        `must be ${describeTypes(params.type)}, not ${describeValue(error.data)}`,
        // The whole file empty, or only comments: what it should hold.
        path.length === 0 && (error.data === null || error.data === undefined)
          ? kind === 'main'
            ? 'a fleet file begins with `version: 1`, then `hosts:` and `ops:`; `nixfleet init` writes one'
            : 'an included file holds `hosts:`, `ops:` or `pipelines:`; remove it, or its pattern from `include:`'
          : undefined,
      );
    case 'enum': {
      const allowed = ((params.allowedValues as unknown[]) ?? []).map(String);
      const hint = didYouMean(String(error.data), allowed);
      return at(
        path,
        'value',
        `must be one of ${allowed.map((v) => `\`${v}\``).join(', ')}, not ${describeValue(error.data)}`,
        hint,
      );
    }
    case 'const':
      return at(path, 'value', `must be ${JSON.stringify(params.allowedValue)}, not ${describeValue(error.data)}`);
    case 'pattern': {
      const pattern = String(params.pattern);
      if (propertyName !== undefined) {
        return at([...path, propertyName], 'key', ...patternMessage(pattern, propertyName));
      }
      return at(path, 'value', ...patternMessage(pattern, String(error.data)));
    }
    case 'exclusiveMinimum':
      return at(path, 'value', `must be greater than ${String(params.limit)}`);
    case 'minimum':
      return at(path, 'value', `must be at least ${String(params.limit)}, not ${describeValue(error.data)}`);
    case 'maximum':
      return at(path, 'value', `must be at most ${String(params.limit)}, not ${describeValue(error.data)}`);
    case 'minItems':
      return at(path, 'value', 'must not be an empty list');
    case 'minLength':
      return at(path, 'value', 'must not be empty');
    default:
      return at(path, 'value', error.message ?? `fails the schema rule \`${error.keyword}\``);
  }
}

function patternMessage(pattern: string, value: string): [string, string] {
  const quoted = quoteExcerpt(value);
  if (pattern === DURATION_PATTERN) {
    return [`${quoted} is not a duration`, 'use 500ms, 30s, 2m, 1h or a number of seconds'];
  }
  if (pattern === AMOUNT_PATTERN) {
    return [`\`${value}\` is not a number of hosts`, 'use a whole number such as `3`, or a percentage such as `20%`'];
  }
  if (pattern === ID_PATTERN) {
    const fixed = value
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+/, '');
    return [
      `${quoted} is not a valid id`,
      fixed && fixed !== value && fixed.length <= EXCERPT_LENGTH
        ? `ids use lowercase letters, digits and hyphens, e.g. \`${fixed}\``
        : 'ids use lowercase letters, digits and hyphens',
    ];
  }
  if (pattern === STORE_PATTERN) {
    return [
      // Never the password, whatever the scheme (CORE-012).
      `${quoteExcerpt(hidePassword(value))} is not a PostgreSQL URL`,
      'use postgres://USER:PASSWORD@HOST:PORT/DATABASE, or remove settings.store for the embedded SQLite journal',
    ];
  }
  if (pattern === VAR_KEY_PATTERN) {
    return [
      `${quoted} is not a valid variable name`,
      'use letters, digits, `_` and `-`, starting with a letter or `_`',
    ];
  }
  if (pattern === SECRET_NAME_PATTERN) {
    return [`\`${value}\` is not a valid secret name`, 'use letters, digits and `_`, starting with a letter'];
  }
  return [
    `${quoted} is not a valid environment variable name`,
    'use letters, digits and `_`, starting with a letter or `_`',
  ];
}

function describeTypes(type: unknown): string {
  const names: Record<string, string> = {
    object: 'a mapping',
    array: 'a list',
    string: 'a string',
    number: 'a number',
    integer: 'a whole number',
    boolean: 'true or false',
    null: 'empty',
  };
  const types = Array.isArray(type) ? type.map(String) : String(type).split(',');
  // In a list of choices `true or false` reads badly, so a boolean is just "a boolean" there.
  const words = types.map((t) => (types.length > 1 && t === 'boolean' ? 'a boolean' : (names[t] ?? t)));
  return words.length > 1 ? `${words.slice(0, -1).join(', ')} or ${words.at(-1)}` : (words[0] ?? 'valid');
}

function describeValue(value: unknown): string {
  if (value === null || value === undefined) return 'empty';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return quoteExcerpt(String(value));
}

/** JSON pointer -> path segments, with array indices as numbers. */
function pointerToPath(data: unknown, pointer: string): PathSegment[] {
  if (pointer === '') return [];
  const segments: PathSegment[] = [];
  let current: unknown = data;
  for (const raw of pointer.slice(1).split('/')) {
    const segment = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    if (Array.isArray(current)) {
      segments.push(Number(segment));
      current = current[Number(segment)];
    } else {
      segments.push(segment);
      current =
        typeof current === 'object' && current !== null ? (current as Record<string, unknown>)[segment] : undefined;
    }
  }
  return segments;
}
