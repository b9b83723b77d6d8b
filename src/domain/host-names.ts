// Hosts named in a line of text (see CORE-002, "Output at any size"): every name for a few, a
// sample and a count for many, so a line or a message stays readable at 3,000 hosts.

/** Up to this many hosts are named one by one. */
export const LISTED_HOSTS = 8;

/** `h1, h2, h3 and 2997 more` past LISTED_HOSTS, else every name. */
export function hostNames(hosts: readonly string[]): string {
  if (hosts.length <= LISTED_HOSTS) return hosts.join(', ');
  return `${hosts.slice(0, 3).join(', ')} and ${hosts.length - 3} more`;
}
