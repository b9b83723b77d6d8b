// How much data a YAML document stands for once its aliases are expanded (see CORE-005, YAML).
// An alias costs a few bytes and repeats its whole anchor, so nested aliases ("billion laughs")
// make a small file stand for an exponential amount of data, and an alias inside its own anchor
// for an infinite one; everything after parsing (the schema, the checks) walks the expanded
// data. The yaml package's own guard (`maxAliasCount`) counts alias uses rather than data, so it
// refused 1,000 hosts sharing `<<: *defaults` while its limit would have to be huge to allow
// them. This measures the expanded size exactly, in one pass over the document.
import { type Alias, type Document, isAlias, isCollection, isNode, isPair, type Node, visit } from 'yaml';

/** Most nodes a document may expand to: far above any real fleet (2,000 hosts merging defaults
 * expand to about 50,000), far below what would take the schema check more than a second. */
export const MAX_EXPANDED_NODES = 1_000_000;

export type ExpansionProblem =
  | { readonly kind: 'too-large'; readonly offset: number }
  | { readonly kind: 'recursive'; readonly offset: number; readonly anchor: string };

/**
 * What each alias refers to: the last node with its anchor before it, as YAML defines it. One
 * pass; `Alias.resolve` walks the whole document for every alias, quadratic in a large fleet.
 */
export function aliasTargets(document: Document.Parsed): Map<Alias, Node> {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  visit(document, {
    Node(_, node) {
      noteAnchorOrAlias(node, anchors, targets);
    },
  });
  return targets;
}

/** One step of `aliasTargets`, for a walk that visits every node in document order. */
export function noteAnchorOrAlias(node: unknown, anchors: Map<string, Node>, targets: Map<Alias, Node>): void {
  if (isAlias(node)) {
    const target = anchors.get(node.source);
    if (target !== undefined) targets.set(node, target);
  } else if (isNode(node) && node.anchor) anchors.set(node.anchor, node);
}

export function aliasExpansionProblem(
  document: Document.Parsed,
  targets: ReadonlyMap<Alias, Node>,
): ExpansionProblem | undefined {
  const sizes = new Map<unknown, number>();
  const inProgress = new Set<unknown>();
  let problem: ExpansionProblem | undefined;

  // Anchors come before their aliases in document order, so each alias's target is measured by
  // the time the alias is reached (or is still open, when the alias is inside it).
  const sizeOf = (node: unknown): number => {
    if (problem) return 0;
    if (isAlias(node)) {
      const target = targets.get(node);
      const offset = node.range?.[0] ?? 0;
      if (target === undefined) return 1;
      if (inProgress.has(target)) {
        problem = { kind: 'recursive', offset, anchor: node.source };
        return 0;
      }
      return sizes.get(target) ?? sizeOf(target);
    }
    if (isPair(node)) return sizeOf(node.key) + sizeOf(node.value);
    if (!isCollection(node)) return 1;
    inProgress.add(node);
    let total = 1;
    for (const item of node.items) {
      total += sizeOf(item);
      if (total > MAX_EXPANDED_NODES && !problem) {
        problem = { kind: 'too-large', offset: offsetOf(item) ?? offsetOf(node) ?? 0 };
      }
      if (problem) break;
    }
    inProgress.delete(node);
    sizes.set(node, total);
    return total;
  };
  sizeOf(document.contents);
  return problem;
}

function offsetOf(node: unknown): number | undefined {
  if (isPair(node)) return offsetOf(node.value) ?? offsetOf(node.key);
  return (node as Node | null)?.range?.[0];
}
