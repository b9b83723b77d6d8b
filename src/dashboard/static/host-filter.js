// The host filter (see CORE-004, "The page"): the one search of a fleet whose tables are drawn a
// window at a time (windowed-rows.js), where the browser's find-in-page only sees the window.

/**
 * A predicate on host ids: true for every host when `query` is blank, else for hosts whose id,
 * hostname or one of whose tags contains it (case-insensitive). Ids the fleet does not declare
 * (`@controller`) match on their id alone.
 */
export function hostMatcher(hosts, query) {
  const needle = (query ?? '').trim().toLowerCase();
  if (needle === '') return () => true;
  const byId = new Map(hosts.map((host) => [host.id, host]));
  return (hostId) => {
    const host = byId.get(hostId);
    const texts = host ? [host.id, host.hostname ?? '', ...host.tags] : [hostId];
    return texts.some((text) => text.toLowerCase().includes(needle));
  };
}
