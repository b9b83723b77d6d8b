// The alias and merge-key checks a parsed YAML file goes through before it becomes plain data
// (see CORE-005, YAML): each problem at its position, never an exception from deep in `toJS`.
import type { Alias, Document, LineCounter, Node, Pair } from 'yaml';
import type { ConfigError } from '../errors/config-error.js';
import { aliasExpansionProblem, MAX_EXPANDED_NODES } from './alias-expansion.js';
import { badMergeOffset } from './merge-keys.js';

/**
 * Merge keys of anything but mappings, and aliases expanding to too much data or to themselves.
 * `targets` and `mergePairs` are what a walk of the whole document found (yaml-source.ts).
 */
export function aliasStructureErrors(
  document: Document.Parsed,
  lineCounter: LineCounter,
  displayPath: string,
  targets: ReadonlyMap<Alias, Node>,
  mergePairs: readonly Pair[],
): ConfigError[] {
  const error = (offset: number, message: string, hint: string): ConfigError[] => {
    const { line, col } = lineCounter.linePos(offset);
    return [{ file: displayPath, line, column: col, path: '', message, hint }];
  };
  const merge = badMergeOffset(mergePairs, targets);
  if (merge !== undefined) {
    return error(
      merge,
      'invalid YAML: `<<` merges mappings only',
      'write `<<: *defaults` or `<<: [*a, *b]`, where each anchor is a mapping',
    );
  }
  const expansion = aliasExpansionProblem(document, targets);
  if (expansion?.kind === 'recursive') {
    return error(
      expansion.offset,
      `invalid YAML: alias \`*${expansion.anchor}\` is inside its own anchor`,
      'an alias must refer to a value that does not contain it',
    );
  }
  if (expansion?.kind === 'too-large') {
    const limit = MAX_EXPANDED_NODES.toLocaleString('en-US');
    // Only a file with aliases is made large by them; one without is simply that large.
    return targets.size > 0
      ? error(
          expansion.offset,
          `invalid YAML: aliases expand this file to more than ${limit} values`,
          'nested aliases repeat their anchors; write the values out or use fewer levels of aliases',
        )
      : error(
          expansion.offset,
          `invalid YAML: this file holds more than ${limit} values`,
          `split the fleet into files with \`include:\`; each may hold up to ${limit}`,
        );
  }
  return [];
}
