// Messages and lines that name hosts stay readable however many there are (see CORE-002,
// "Output at any size"): up to 8 hosts are named, more as three names and a count. The real CLI
// on 20 local hosts: a busy-hosts refusal, a `logs` hint and a plain batch line.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { waitForFile } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';

const HOSTS = Array.from({ length: 20 }, (_, i) => `h${String(i).padStart(2, '0')}`);
const FLEET = `version: 1
settings: { concurrency: 20 }
hosts:
${HOSTS.map((h) => `  ${h}: {}`).join('\n')}
ops:
  hang: { run: 'touch "started-$NIXFLEET_HOST"; sleep 60' }
  fail: { run: 'false' }
  ok: { run: 'true' }
`;

describe('host names at any size', { timeout: 180_000 }, () => {
  it('names three hosts and a count past eight', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const first = spawnCli(dir, ['apply', 'hang', '--json'], { timeoutMs: 120_000 });
    await waitForFile(join(dir, 'started-h19'));
    const second = await runCli(dir, ['apply', 'ok']);
    expect(second.exitCode, second.stderr).toBe(3);
    expect(second.stderr).toContain('host(s) busy: h00, h01, h02 and 17 more (run r1)');
    expect((await runCli(dir, ['cancel', 'r1', '--kill'])).exitCode).toBe(0);
    expect((await first).exitCode).toBe(130);

    const logs = await runCli(dir, ['logs', 'r1', '--host', 'nope']);
    expect(logs.exitCode).toBe(2);
    expect(logs.stderr).toContain('hint: its hosts: h00, h01, h02 and 17 more');

    const batches = await runCli(dir, ['apply', 'ok', '--batch', '10', '--renderer', 'plain']);
    expect(batches.exitCode, batches.stderr).toBe(0);
    expect(batches.stdout).toContain('batch 1/2: h00, h01, h02 and 7 more');
  });
});
