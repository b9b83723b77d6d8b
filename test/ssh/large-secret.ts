// A multi-line secret near the size limit (CORE-010: 128 KiB less 256 bytes), for the tests that
// the remote reader takes it in whole and in time: 100,000 lines, nearly all of them empty, some
// starting with `-` and holding a backslash, `$` and quotes, and two trailing newlines. Reading
// it line by line into a growing string took minutes under bash; the tests give it seconds.
export const LARGE_SECRET_LINES = 100_000;

export function largeSecret(): string {
  const lines = Array.from({ length: LARGE_SECRET_LINES }, (_, i) => (i % 40 === 0 ? `-\\$'"` : ''));
  return `${lines.join('\n')}\n\n`;
}
