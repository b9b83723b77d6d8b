// Over the real sshd (CORE-007): a remote command's stdout and stderr are stored as the bytes it
// wrote (CORE-001, output), with or without a multiplexing master, and a secret split across two
// writes of output that is no UTF-8 is still redacted on each pipe (CORE-010).
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { BIN, makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;
beforeAll(async () => {
  sshd = await startSshd();
});
afterAll(async () => {
  await sshd?.stop();
});

const SECRET = 'Sekr3t-value-42';

function fleetDir(multiplex: boolean): string {
  const host = JSON.stringify({
    transport: 'ssh',
    address: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    identityFile: sshd.clientKey,
  });
  return makeTempDir({
    'fleet.yaml': `version: 1
settings:
  ssh: { connectTimeout: 5s, multiplex: ${multiplex} }
secrets:
  token: { env: NF_RAW_TOKEN }
hosts:
  web1: ${host}
ops:
  raw:
    run: printf '\\377\\376abc\\200\\n'; sleep 0.3; printf '\\376err\\201\\n' >&2; sleep 0.3; printf '\\303'; sleep 0.3; printf '\\251\\n'
  split:
    run: v={{ secret.token }}; rest="\${v#??????}"; printf '\\377%s' "\${v%"$rest"}" >&2; sleep 0.3; printf '%s\\200\\n' "$rest" >&2
pipelines:
  both: { ops: [raw, split] }
`,
  });
}

async function logsBytes(dir: string, id: string): Promise<Buffer> {
  const result = await execa('node', [BIN, 'logs', id], {
    cwd: dir,
    reject: false,
    encoding: 'buffer',
    stripFinalNewline: false,
    env: { CI: 'true', NO_COLOR: '1' },
  });
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return Buffer.from(result.stdout);
}

it.each([true, false])(
  'stdout and stderr keep their bytes, and a split secret is redacted (multiplex: %s)',
  { timeout: 120_000 },
  async (multiplex) => {
    const dir = fleetDir(multiplex);
    const applied = await runCli(dir, ['apply', 'both'], {
      env: { NIXFLEET_SSH_CONFIG: sshd.clientConfig, NF_RAW_TOKEN: SECRET },
      timeoutMs: 110_000,
    });
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(await logsBytes(dir, 'c1')).toEqual(
      Buffer.from([0xff, 0xfe, 0x61, 0x62, 0x63, 0x80, 0x0a, 0xfe, 0x65, 0x72, 0x72, 0x81, 0x0a, 0xc3, 0xa9, 0x0a]),
    );
    expect(await logsBytes(dir, 'c2')).toEqual(Buffer.from([0xff, 0x2a, 0x2a, 0x2a, 0x80, 0x0a]));
  },
);
