// A Ctrl-C that reaches ssh while nixfleet is forking it (CORE-011, "A Ctrl-C during a fork"):
// the child dies by SIGINT before it ran anything, so the master or the session is started again
// and the command runs once. A wrapper first on PATH stands in for the race, which no test can
// time: the first master and the first session kill themselves with SIGINT before doing anything;
// everything else is the real ssh, to the real sshd on loopback.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { pathWithSshWrapper } from '../support/ssh-wrapper.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;

beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

/** The `before` of an ssh wrapper that kills itself with SIGINT the first time it is each of `kinds`. */
function killedOnce(dir: string, kinds: readonly string[]): string {
  return `case " $* " in
  *" -N "*) kind=master ;;
  *nixfleet-start-*) kind=session ;;
  *) kind=other ;;
esac
case " ${kinds.join(' ')} " in
  *" $kind "*) mkdir ${JSON.stringify(join(dir, 'killed-'))}"$kind" 2>/dev/null && kill -INT $$ ;;
esac`;
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
    const result = await runCli(dir, ['apply', 'deploy', '--json'], {
      env: { PATH: pathWithSshWrapper(dir, killedOnce(dir, kinds)), NIXFLEET_SSH_CONFIG: sshd.clientConfig },
      timeoutMs: 120_000,
    });
    for (const kind of kinds) expect(existsSync(join(dir, `killed-${kind}`)), kind).toBe(true);
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    expect(JSON.parse(result.stdout).hosts.web1[0]).toMatchObject({ status: 'SUCCESS' });
    expect(readFileSync(ran, 'utf8')).toBe('web1\n');
  });
});
