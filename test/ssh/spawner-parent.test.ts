// Every ssh process nixfleet starts, the master of a host and each session over it, is started by
// nixfleet's spawner (CORE-007, "Masters through the spawner"), not forked from nixfleet's own,
// much larger process. A wrapper first on PATH writes down its parent's command line, then
// becomes the real ssh, to the real sshd on loopback.
import { readFileSync, writeFileSync } from 'node:fs';
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

describe('the ssh processes of a multiplexed run', () => {
  it("are the spawner's children: the master and the session alike", async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s, multiplex: true }
hosts:
  web1: ${JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user })}
ops:
  deploy: { run: 'true' }
`,
    );
    const parentOf = (kind: string) => `tr '\\0' ' ' < /proc/$PPID/cmdline > ${JSON.stringify(join(dir, kind))}`;
    const wrapper = `case " $* " in
  *" -N "*) ${parentOf('master-parent')} ;;
  *nixfleet-start-*) ${parentOf('session-parent')} ;;
esac`;
    const result = await runCli(dir, ['apply', 'deploy', '--json'], {
      env: { PATH: pathWithSshWrapper(dir, wrapper), NIXFLEET_SSH_CONFIG: sshd.clientConfig },
      timeoutMs: 120_000,
    });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
    for (const kind of ['master-parent', 'session-parent']) {
      const parent = readFileSync(join(dir, kind), 'utf8');
      expect(parent, kind).toMatch(/spawner(\.py|\.pl|-process\.js) $/);
      expect(parent, kind).not.toContain('nixfleet.js');
    }
  });
});
