// The alias and merge-key checks a parsed YAML file goes through before it becomes plain data
// (see CORE-005, YAML): each problem at its position, never an exception from deep in `toJS`.
import type { Alias, Document, LineCounter, Node, Pair } from 'yaml';
import { didYouMean } from '../domain/closest-name.js';
import type { ConfigError } from '../errors/config-error.js';
import { aliasExpansionProblem, MAX_EXPANDED_NODES } from './alias-expansion.js';
import { badMergeOffset } from './merge-keys.js';

/** What a walk of the whole document found of its anchors, aliases and merge keys (yaml-source.ts). */
export interface AliasesFound {
  /** Each alias's target: the last node with its anchor before it. */
  readonly targets: ReadonlyMap<Alias, Node>;
  /** Every anchor, by name. */
  readonly anchors: ReadonlyMap<string, Node>;
  /** Aliases that name no anchor set before them. */
  readonly unresolved: readonly Alias[];
  readonly mergePairs: readonly Pair[];
}

/**
 * Aliases that name no anchor set before them, merge keys of anything but mappings, and aliases
 * expanding to too much data or to themselves.
 */
export function aliasStructureErrors(
  document: Document.Parsed,
  lineCounter: LineCounter,
  displayPath: string,
  { targets, anchors, unresolved, mergePairs }: AliasesFound,
): ConfigError[] {
  const error = (offset: number, message: string, hint: string): ConfigError[] => {
    const { line, col } = lineCounter.linePos(offset);
    return [{ file: displayPath, line, column: col, path: '', message, hint }];
  };
  // Each at its own place, with the anchor it may be a typo of: the package's error came from
  // `toJS`, at 1:1, and one inside `<<:` was reported as a merge of something not a mapping.
  if (unresolved.length > 0) {
    return unresolved.flatMap((alias) =>
      error(
        alias.range?.[0] ?? 0,
        `invalid YAML: alias \`*${alias.source}\` names no anchor set before it`,
        didYouMean(alias.source, anchors.keys())?.replace('`', '`*') ??
          `set \`&${alias.source}\` on a value above it, or use an anchor that is`,
      ),
    );
  }
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
