import { afterAll, beforeAll, expect, it } from 'vitest';
import { makeTempDir, runCli, runCliBytes } from '../support/cli.js';
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

/** `nixfleet logs ID` into a pipe, as bytes. */
async function logsBytes(dir: string, id: string): Promise<Buffer> {
  const result = await runCliBytes(dir, ['logs', id]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
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
