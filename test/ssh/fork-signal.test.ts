// A Ctrl-C that reaches ssh while nixfleet is forking it (CORE-011, "A Ctrl-C during a fork"):
// the child dies by SIGINT before it ran anything, so the master or the session is started again
// and the command runs once. A wrapper first on PATH stands in for the race, which no test can
// time: the first master and the first session kill themselves with SIGINT before doing anything;
// everything else is the real ssh, to the real sshd on loopback.
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

function realSsh(): string {
  const found = (process.env.PATH ?? '').split(delimiter).find((dir) => existsSync(join(dir, 'ssh')));
  if (found === undefined) throw new Error('no ssh on PATH');
  return join(found, 'ssh');
}

/** A directory holding an `ssh` that kills itself with SIGINT the first time it is each of `kinds`. */
function sshKilledOnce(dir: string, kinds: readonly string[]): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  writeFileSync(
    join(bin, 'ssh'),
    `#!/bin/sh
case " $* " in
  *" -N "*) kind=master ;;
  *nixfleet-start-*) kind=session ;;
  *) kind=other ;;
esac
case " ${kinds.join(' ')} " in
  *" $kind "*) mkdir ${JSON.stringify(join(dir, 'killed-'))}"$kind" 2>/dev/null && kill -INT $$ ;;
esac
exec ${JSON.stringify(realSsh())} "$@"
`,
  );
  chmodSync(join(bin, 'ssh'), 0o755);
  return bin;
}

describe.each([
  { multiplex: true, kinds: ['master', 'session'] },
  { multiplex: false, kinds: ['session'] },
])('an ssh $kinds killed by SIGINT as it starts (multiplex: $multiplex)', ({ multiplex, kinds }) => {
  it('is started again and the command runs once', async () => {
    const dir = makeTempDir();
    const ran = join(dir, 'ran.txt');
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s, multiplex: ${multiplex} }
hosts:
  web1: ${JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user })}
ops:
  deploy: { run: 'echo "$NIXFLEET_HOST" >> ${ran}' }
`,
    );
    const bin = sshKilledOnce(dir, kinds);
    const result = await runCli(dir, ['apply', 'deploy', '--json'], {
      env: { PATH: `${bin}${delimiter}${process.env.PATH}` },
      timeoutMs: 120_000,
    });
    for (const kind of kinds) expect(existsSync(join(dir, `killed-${kind}`)), kind).toBe(true);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).hosts.web1[0]).toMatchObject({ status: 'SUCCESS' });
    expect(readFileSync(ran, 'utf8')).toBe('web1\n');
  });
});
