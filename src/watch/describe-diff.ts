// The compact one-line form of a reload users read in `nixfleet watch` and the event log
// (see CORE-006): `+op deploy, -host web3, ~pipeline do-all, ~settings, ~secrets`. A large change is
// counted instead (`+2000 hosts, ~3 ops`) so one save never prints a wall of ids.
import type { IdDiff, RegistryDiff } from '../registry/types.js';

const MOST_IDS_LISTED = 12;

/** What changed besides definitions: `settings:`, and where `secrets:` come from (never a value). */
export interface SectionChanges {
  readonly settingsChanged?: boolean;
  readonly secretsChanged?: boolean;
}

export function describeDiff(diff: RegistryDiff, sections: SectionChanges = {}): string {
  const kinds = [
    ['host', diff.hosts],
    ['op', diff.ops],
    ['pipeline', diff.pipelines],
  ] as const;
  const total = kinds.reduce((n, [, d]) => n + d.added.length + d.removed.length + d.modified.length, 0);
  const parts = kinds.flatMap(([kind, d]) => (total > MOST_IDS_LISTED ? countKind(kind, d) : listKind(kind, d)));
  if (sections.settingsChanged) parts.push('~settings');
  if (sections.secretsChanged) parts.push('~secrets');
  return parts.length > 0 ? parts.join(', ') : 'no definition changed';
}

function listKind(kind: string, diff: IdDiff): string[] {
  return [
    ...diff.added.map((id) => `+${kind} ${id}`),
    ...diff.removed.map((id) => `-${kind} ${id}`),
    ...diff.modified.map((id) => `~${kind} ${id}`),
  ];
}

function countKind(kind: string, diff: IdDiff): string[] {
  const counted = (sign: string, n: number) => (n > 0 ? [`${sign}${n} ${kind}${n === 1 ? '' : 's'}`] : []);
  return [
    ...counted('+', diff.added.length),
    ...counted('-', diff.removed.length),
    ...counted('~', diff.modified.length),
  ];
}
