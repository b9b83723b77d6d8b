// YAML merge keys (see CORE-005, YAML): `<<: *defaults` or `<<: [*a, *b]` copy the keys of
// mappings. The yaml package throws a bare Error from deep inside `toJS` for anything else
// (`<<: *a-list`, `<<: 3`), which surfaced as an internal error; this finds it first, with its
// position.
import { type Alias, isAlias, isMap, isScalar, isSeq, type Node, type Pair } from 'yaml';

/** A `<<` key: with `merge: true` the parser turns a plain `<<` key into a symbol. */
export function isMergePair(pair: Pair): boolean {
  return isScalar(pair.key) && typeof pair.key.value === 'symbol' && pair.key.source === '<<';
}

/**
 * The offset of the first merge key whose value is not a mapping or a list of mappings, of the
 * merge pairs in document order.
 */
export function badMergeOffset(mergePairs: readonly Pair[], targets: ReadonlyMap<Alias, Node>): number | undefined {
  const resolve = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node);
  for (const pair of mergePairs) {
    const value = resolve(pair.value);
    const items = isSeq(value) ? value.items : [pair.value];
    const bad = items.find((item) => !isMap(resolve(item)));
    if (bad === undefined) continue;
    // An alias to a list is reported at the alias the user wrote here, not inside its anchor.
    const at = (isAlias(pair.value) ? pair.value : bad) as Node | null;
    return at?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
  }
  return undefined;
}
