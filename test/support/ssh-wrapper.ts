// An `ssh` first on PATH that does something of its own, then becomes the real ssh (same pid):
// how a test stands in for a moment no test can time (a signal during a fork, a slow login).
import { chmodSync, existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';

function realSsh(): string {
  const found = (process.env.PATH ?? '').split(delimiter).find((dir) => existsSync(join(dir, 'ssh')));
  if (found === undefined) throw new Error('no ssh on PATH (install openssh-client)');
  return join(found, 'ssh');
}

/**
 * Writes `<dir>/bin/ssh`, a shell script that runs `before` (its arguments are `$@`) and then
 * execs the real ssh, and returns a PATH with it first.
 */
export function pathWithSshWrapper(dir: string, before: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  writeFileSync(join(bin, 'ssh'), `#!/bin/sh\n${before}\nexec ${JSON.stringify(realSsh())} "$@"\n`);
  chmodSync(join(bin, 'ssh'), 0o755);
  return `${bin}${delimiter}${process.env.PATH}`;
}
