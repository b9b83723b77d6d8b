// What a reload changed, by id (see CORE-006). Pure: two snapshots in, a RegistryDiff out.
// A definition counts as modified only when its content differs; where it sits in the file
// (`source`) does not count, so inserting a line above an op does not report the op as changed.
import type { IdDiff, Registry, RegistryDiff, RegistrySummary } from './types.js';

export function diffRegistries(before: Registry | null, after: Registry): RegistryDiff {
  return {
    hosts: diffById(before?.hosts ?? new Map(), after.hosts),
    ops: diffById(before?.ops ?? new Map(), after.ops),
    pipelines: diffById(before?.pipelines ?? new Map(), after.pipelines),
  };
}

/**
 * The same comparison over the summaries the journal keeps, for when the previous snapshot is
 * only known from the journal (a process starting on a data directory an earlier one used).
 */
export function diffSummaries(before: RegistrySummary | null, after: RegistrySummary): RegistryDiff {
  const byId = <T extends { id: string }>(items: readonly T[] | undefined) =>
    new Map((items ?? []).map((item) => [item.id, item] as const));
  return {
    hosts: diffById(byId(before?.hosts), byId(after.hosts)),
    ops: diffById(byId(before?.ops), byId(after.ops)),
    pipelines: diffById(byId(before?.pipelines), byId(after.pipelines)),
  };
}

export function isEmptyDiff(diff: RegistryDiff): boolean {
  return [diff.hosts, diff.ops, diff.pipelines].every(
    (d) => d.added.length === 0 && d.removed.length === 0 && d.modified.length === 0,
  );
}

function diffById<T>(before: ReadonlyMap<string, T>, after: ReadonlyMap<string, T>): IdDiff {
  const added: string[] = [];
  const modified: string[] = [];
  for (const [id, definition] of after) {
    const previous = before.get(id);
    if (previous === undefined) added.push(id);
    else if (!sameContent(previous, definition)) modified.push(id);
  }
  const removed = [...before.keys()].filter((id) => !after.has(id));
  return { added, removed, modified };
}

/** Structural equality of plain data, ignoring a top-level `source` (a position, not content). */
export function sameContent(a: unknown, b: unknown, depth = 0): boolean {
  if (Object.is(a, b)) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (a instanceof Map || b instanceof Map) {
    if (!(a instanceof Map && b instanceof Map) || a.size !== b.size) return false;
    for (const [key, value] of a) if (!b.has(key) || !sameContent(value, b.get(key), depth + 1)) return false;
    return true;
  }
  const keysOf = (o: object) =>
    Object.keys(o).filter((k) => (o as Record<string, unknown>)[k] !== undefined && !(depth === 0 && k === 'source'));
  const aKeys = keysOf(a);
  const bKeys = keysOf(b);
  if (aKeys.length !== bKeys.length) return false;
  const aRecord = a as Record<string, unknown>;
  const bRecord = b as Record<string, unknown>;
  return aKeys.every((k) => Object.hasOwn(bRecord, k) && sameContent(aRecord[k], bRecord[k], depth + 1));
}
