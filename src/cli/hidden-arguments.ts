// Values that must not stay on nixfleet's own command line, which every user of the machine can
// read (`ps`, /proc/PID/cmdline): a `serve --token` (CORE-004, Access) and the password of a
// `--store` URL (CORE-012). The process title is rewritten in place without them as soon as they
// are read; it is readable for the moment before, so the environment is the better way to pass them.

const hidden = new Map<string, string>();

/** Shows `value` as `shown` on the command line from now on (with every value hidden before). */
export function hideOnCommandLine(value: string, shown = '***'): void {
  if (value === '' || value === shown || !process.argv.some((arg) => arg.includes(value))) return;
  hidden.set(value, shown);
  // Longest first, so that a value inside another is not uncovered by the shorter one's rewrite.
  const values = [...hidden].sort(([a], [b]) => b.length - a.length);
  process.title = [process.argv0, ...process.argv.slice(1)]
    .map((arg) => values.reduce((text, [secret, replacement]) => text.replaceAll(secret, replacement), arg))
    .join(' ');
}
