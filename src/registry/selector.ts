// Host selectors (see CORE-005): comma-separated terms, each a host name, `@tag`, a `*` glob, or
// any of those behind `!` to exclude. Only exclusions means "every host except". A selector that
// selects nothing, or names a host or tag that does not exist, is an error, never a silent no-op.
import { didYouMean } from '../domain/closest-name.js';
import { UserError } from '../errors/user-error.js';
import { compileHostGlob, NOT_LITERAL } from './host-glob.js';
import type { Registry } from './types.js';

const LIST_HOSTS_HINT = 'run `nixfleet list hosts` to see the names and tags';

export interface SelectableHost {
  readonly id: string;
  readonly tags: readonly string[];
}

export type SelectorResult =
  | { readonly ok: true; readonly hosts: readonly string[] }
  | { readonly ok: false; readonly message: string; readonly hint?: string };

/** Terms are separated by commas, except the commas of `{a,b}` alternatives. */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '{') depth++;
    else if (c === '}' && depth > 0) depth--;
    else if (c === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((term) => term.trim());
}

/** Host ids in file order; `hosts` must be in file order too. */
export function resolveSelector(hosts: readonly SelectableHost[], selector: string): SelectorResult {
  const terms = splitTerms(selector);
  const included = new Set<string>();
  const excluded = new Set<string>();
  let hasInclusion = false;
  for (const term of terms) {
    const isExclusion = term.startsWith('!');
    const body = isExclusion ? term.slice(1).trim() : term;
    if (body === '') {
      return {
        ok: false,
        message: `selector \`${selector}\` has an empty term`,
        hint: 'terms are separated by commas',
      };
    }
    const matched = matchTerm(hosts, body);
    if (!matched.ok) return matched;
    for (const id of matched.hosts) (isExclusion ? excluded : included).add(id);
    if (!isExclusion) hasInclusion = true;
  }
  const selected = hosts
    .filter((host) => (hasInclusion ? included.has(host.id) : true) && !excluded.has(host.id))
    .map((host) => host.id);
  if (selected.length === 0) {
    return {
      ok: false,
      message: `selector \`${selector}\` matches no host`,
      hint: LIST_HOSTS_HINT,
    };
  }
  return { ok: true, hosts: selected };
}

function matchTerm(hosts: readonly SelectableHost[], term: string): SelectorResult {
  if (term.startsWith('@')) {
    const tag = term.slice(1);
    const matched = hosts.filter((host) => host.tags.includes(tag)).map((host) => host.id);
    if (matched.length > 0) return { ok: true, hosts: matched };
    const tags = [...new Set(hosts.flatMap((host) => host.tags))];
    const close = didYouMean(tag, tags)?.replace('`', '`@');
    const known = tags.length > 0 ? `known tags: ${tags.map((t) => `@${t}`).join(', ')}` : 'no host has tags';
    return { ok: false, message: `unknown tag \`@${tag}\``, hint: close ?? known };
  }
  if (NOT_LITERAL.test(term)) {
    // A glob that matches nothing is fine on its own; the whole selector must still select a host.
    // Characters no glob has either (`(`, `|`, `+`, a space) are refused there, with the syntax.
    const glob = compileHostGlob(term);
    if (!glob.ok) return glob;
    return { ok: true, hosts: hosts.filter((host) => glob.matches(host.id)).map((host) => host.id) };
  }
  if (hosts.some((host) => host.id === term)) return { ok: true, hosts: [term] };
  return {
    ok: false,
    message: `unknown host \`${term}\``,
    hint: didYouMean(
      term,
      hosts.map((host) => host.id),
    ),
  };
}

/** Host ids in file order; an undefined selector selects every host. */
export function selectHosts(registry: Registry, selector: string | undefined): string[] {
  const hosts = [...registry.hosts.values()];
  if (selector === undefined) {
    if (hosts.length === 0) throw new UserError('the fleet has no hosts', { hint: 'add hosts under `hosts:`' });
    return hosts.map((host) => host.id);
  }
  const result = resolveSelector(hosts, selector);
  // A name nothing resembles (`--on nothing`) had no hint at all.
  if (!result.ok) throw new UserError(result.message, { hint: result.hint ?? LIST_HOSTS_HINT });
  return [...result.hosts];
}
