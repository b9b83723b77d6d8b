// Builds a ConfigError pointing at a key or value of a parsed file.
import type { ConfigError } from '../errors/config-error.js';
import { formatPath } from './path-format.js';
import { locate, type PathSegment, type Position, type YamlSource } from './yaml-source.js';

export function errorAt(
  source: YamlSource,
  path: readonly PathSegment[],
  target: 'key' | 'value',
  message: string,
  hint?: string,
): ConfigError {
  return errorAtPosition(source, locate(source, path, target), path, message, hint);
}

export function errorAtPosition(
  source: YamlSource,
  position: Position,
  path: readonly PathSegment[],
  message: string,
  hint?: string,
): ConfigError {
  const error: ConfigError = {
    file: source.displayPath,
    line: position.line,
    column: position.column,
    path: formatPath(path),
    message,
  };
  return hint === undefined ? error : { ...error, hint };
}
