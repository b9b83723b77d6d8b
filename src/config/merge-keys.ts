// YAML merge keys (see CORE-005, YAML): `<<: *defaults` or `<<: [*a, *b]` copy the keys of
// mappings. The yaml package throws a bare Error from deep inside `toJS` for anything else
// (`<<: *a-list`, `<<: 3`), which surfaced as an internal error; this finds it first, with its
// position.
import { type Alias, type Document, isAlias, isMap, isScalar, isSeq, type Node, visit } from 'yaml';

/** The offset of the first merge key whose value is not a mapping or a list of mappings. */
export function badMergeOffset(document: Document.Parsed, targets: ReadonlyMap<Alias, Node>): number | undefined {
  let found: number | undefined;
  const resolve = (node: unknown): unknown => (isAlias(node) ? targets.get(node) : node);
  visit(document, {
    Pair(_, pair) {
      // With `merge: true` the parser turns a plain `<<` key into a symbol.
      if (!isScalar(pair.key) || typeof pair.key.value !== 'symbol' || pair.key.source !== '<<') return;
      const value = resolve(pair.value);
      const items = isSeq(value) ? value.items : [pair.value];
      const bad = items.find((item) => !isMap(resolve(item)));
      if (bad === undefined) return;
      // An alias to a list is reported at the alias the user wrote here, not inside its anchor.
      const at = (isAlias(pair.value) ? pair.value : bad) as Node | null;
      found = at?.range?.[0] ?? (pair.key as Node).range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return found;
}
