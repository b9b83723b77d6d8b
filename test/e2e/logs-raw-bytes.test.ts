// A command's output is stored as the bytes it wrote (CORE-001, output; CORE-003): output that is
// not UTF-8 (binary, latin-1) comes back from `logs` into a pipe byte for byte, whichever spawner
// ran it, and a secret split across two writes of such output is still redacted (CORE-010).
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { makeTempDir, runCli, runCliBytes } from '../support/cli.js';

vi.setConfig({ testTimeout: 120_000 });

const SECRET = 'Sekr3t-value-42';
// \377\376 is no UTF-8 at all, \200 a lone continuation byte, \303 then \251 an é cut in two.
const EXPECTED = Buffer.from([0xff, 0xfe, 0x61, 0x62, 0x63, 0x80, 0x0a, 0xc3, 0xa9, 0x0a]);
const REDACTED = Buffer.concat([Buffer.from([0xff]), Buffer.from('***'), Buffer.from([0x80, 0x0a])]);

function fleetDir(): string {
  return makeTempDir({
    'fleet.yaml': `version: 1
secrets:
  token: { env: NF_RAW_TOKEN }
hosts: { h1: {} }
ops:
  raw:
    run: printf '\\377\\376abc\\200\\n'; printf '\\303'; sleep 0.3; printf '\\251\\n'
  split:
    run: v={{ secret.token }}; rest="\${v#??????}"; printf '\\377%s' "\${v%"$rest"}"; sleep 0.3; printf '%s\\200\\n' "$rest"
  spawner:
    run: /usr/bin/tr '\\0' ' ' < /proc/$PPID/cmdline
pipelines:
  both: { ops: [raw, split, spawner] }
`,
  });
}

/** A PATH with the shell, sleep and node, and the one spawner's interpreter asked for (none: the Node spawner). */
function pathFor(dir: string, interpreter: { name: string; target: string } | null): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  for (const name of ['sh', 'sleep']) symlinkSync(`/usr/bin/${name}`, join(bin, name));
  symlinkSync(process.execPath, join(bin, 'node'));
  if (interpreter) symlinkSync(interpreter.target, join(bin, interpreter.name));
  return bin;
}

/** `nixfleet logs ID` into a pipe, as bytes. */
async function logsBytes(dir: string, id: string): Promise<Buffer> {
  const result = await runCliBytes(dir, ['logs', id]);
  expect(result.exitCode, result.stderr).toBe(0);
  return result.stdout;
}

describe('logs gives back the bytes a command wrote', () => {
  for (const [spawner, interpreter, script] of [
    ['Perl', { name: 'perl', target: '/usr/bin/perl' }, 'spawner.pl'],
    ['Python', { name: 'python3', target: '/usr/bin/python3.11' }, 'spawner.py'],
    ['Node', null, 'spawner-process.js'],
  ] as const) {
    it(`through the ${spawner} spawner: invalid UTF-8 kept, a secret split across writes still redacted`, async () => {
      const dir = fleetDir();
      const PATH = pathFor(dir, interpreter);
      const applied = await runCli(dir, ['apply', 'both'], { env: { PATH, NF_RAW_TOKEN: SECRET } });
      expect(applied.exitCode, applied.stderr).toBe(0);
      // The spawner asked for is the one that started the commands.
      expect((await logsBytes(dir, 'c3')).toString()).toContain(script);
      expect(await logsBytes(dir, 'c1')).toEqual(EXPECTED);
      expect(await logsBytes(dir, 'c2')).toEqual(REDACTED);
      // Shown on the terminal or in JSON it is decoded: what is no UTF-8 shows as U+FFFD, and the
      // é cut in two is whole again.
      const json = await runCli(dir, ['--json', 'logs', 'c1']);
      expect(JSON.parse(json.stdout).output).toBe('\ufffd\ufffdabc\ufffd\né\n');
    });
  }
});
