// CORE-010: the stdin preamble and the remote reader agree, byte for byte, for values with
// newlines, quotes, backslashes, `$`, spaces at either end and carriage returns, under each POSIX
// shell that may be a login shell here; and the values appear on no command line.
import { existsSync, mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { buildRemoteCommand } from '../../src/engine/transports/ssh/remote-command.js';
import { preambleReader, secretExports, secretPreamble } from '../../src/engine/transports/ssh/secret-preamble.js';
import { largeSecret } from './large-secret.js';

const VALUES = {
  NIXFLEET_SECRET_plain: 'hunter2-tok',
  NIXFLEET_SECRET_odd: ` lead 'q' "dq" \\n \\ $HOME \`id\` $(id) ;|& trail \t`,
  NIXFLEET_SECRET_multi: '-----BEGIN-----\r\nline two\n\nline four\n-----END-----',
  AUTH: 'Bearer hunter2-tok',
};

/** busybox's ash, when busybox is installed: a link named `ash` makes busybox run as that shell. */
function busyboxAsh(): string[] {
  const busybox = ['/bin/busybox', '/usr/bin/busybox'].find((path) => existsSync(path));
  if (busybox === undefined) return [];
  const ash = join(mkdtempSync(join(tmpdir(), 'nixfleet-ash-')), 'ash');
  symlinkSync(busybox, ash);
  return [ash];
}

const SHELLS = [
  ...['/bin/sh', '/bin/bash', '/bin/dash', '/usr/bin/zsh'].filter((shell) => existsSync(shell)),
  ...busyboxAsh(),
];

describe('secretPreamble + preambleReader', () => {
  it.each(SHELLS)('%s reads back every value exactly, and the command gets no stdin', async (shell) => {
    const names = Object.keys(VALUES);
    const dump = names.map((name) => `printf '%s\\0' "$${name}"`).join('; ');
    const exports = secretExports(names, () => false);
    const script = `${preambleReader(VALUES)} ${exports} exec ${shell} -c 'cat; ${dump.replaceAll("'", `'"'"'`)}' </dev/null`;
    const result = await execa(shell, ['-c', script], { input: `${secretPreamble(VALUES)}after the preamble\n` });
    expect(result.exitCode).toBe(0);
    expect(result.stdout.split('\0').slice(0, -1)).toEqual(Object.values(VALUES));
    expect(script).not.toContain('hunter2');
  });

  // Linear reading: line by line into a growing string, this value took minutes under bash.
  it.each(SHELLS)(
    '%s reads a value of 100,000 lines at the size limit exactly, within seconds',
    {
      timeout: 60_000,
    },
    async (shell) => {
      const values = { NIXFLEET_SECRET_large: largeSecret(), NIXFLEET_SECRET_plain: 'hunter2-tok' };
      const names = Object.keys(values);
      const dump = names.map((name) => `printf '%s\\0' "$${name}"`).join('; ');
      const script = `${preambleReader(values)} ${secretExports(names, () => false)} ${dump}`;
      const result = await execa(shell, ['-c', script], {
        input: secretPreamble(values),
        timeout: 30_000,
        reject: false,
        stripFinalNewline: false,
      });
      expect(result.timedOut).toBe(false);
      expect(result.exitCode, result.stderr).toBe(0);
      expect(result.stdout.split('\0').slice(0, -1)).toEqual(Object.values(values));
    },
  );

  it('exits 125 when the preamble is cut short', async () => {
    const preamble = secretPreamble(VALUES);
    const result = await execa('/bin/sh', ['-c', `${preambleReader(VALUES)} echo ran`], {
      input: preamble.slice(0, preamble.length - 10),
      reject: false,
    });
    expect(result.exitCode).toBe(125);
    expect(result.stdout).toBe('');
  });

  it('refuses a name that is not a variable name', () => {
    expect(() => preambleReader({ 'X; rm -rf /': 'value-1' })).toThrow(/not a variable name/);
  });
});

describe('secret variables on the remote line', () => {
  const line = (privateEnv: Record<string, string>, command: string) =>
    buildRemoteCommand({ command, env: {}, cwd: '~', shell: '/bin/sh', startToken: 'tok', privateEnv });
  const run = (script: string, privateEnv: Record<string, string>) =>
    execa('/bin/bash', ['-c', script], { input: `\n${secretPreamble(privateEnv)}`, reject: false });

  it('are set after the cd, so a secret HOME does not move it; RANDOM arrives as given under bash', async () => {
    const privateEnv = { HOME: '/nonexistent/secret-home', RANDOM: 'random-value' };
    const result = await run(line(privateEnv, 'pwd; printf "%s|%s\\n" "$HOME" "$RANDOM"'), privateEnv);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toBe(`${process.env.HOME}\n/nonexistent/secret-home|random-value`);
  });

  it('one the login shell keeps read-only (UID) stops the command instead of running it without', async () => {
    const privateEnv = { UID: 'uid-value' };
    const result = await run(line(privateEnv, 'echo ran'), privateEnv);
    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('UID: readonly variable');
  });
});
