// Errors are reported in file order: the main file first, then includes, each by line and column.
import type { ConfigError } from '../errors/config-error.js';
import type { FleetSources } from './fleet-sources.js';

export function sortConfigErrors(errors: readonly ConfigError[], sources: FleetSources): ConfigError[] {
  const fileOrder = new Map<string, number>();
  for (const [index, source] of [sources.main, ...sources.included].entries()) fileOrder.set(source.displayPath, index);
  const rank = (file: string) => fileOrder.get(file) ?? fileOrder.size;
  return [...errors].sort((a, b) => rank(a.file) - rank(b.file) || a.line - b.line || a.column - b.column);
}
