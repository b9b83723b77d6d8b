// Messages and lines that name hosts stay readable however many there are (see CORE-002,
// "Output at any size"): up to 8 hosts are named, more as three names and a count. The real CLI
// on 20 local hosts: a busy-hosts refusal, a `logs` hint and a plain batch line; on 50, the recap
// of a rollout stopped by its budget and of a run where many hosts failed.
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

/** The recap's host rows: between `RECAP` and the status line (`rollout stopped: …` excluded). */
function recapRows(stdout: string): string[] {
  const lines = stdout.split('\n');
  const from = lines.findIndex((l) => l.startsWith('RECAP '));
  const to = lines.findIndex((l, i) => i > from && !l.startsWith('  '));
  return lines.slice(from + 1, to);
}

const MANY = Array.from({ length: 50 }, (_, i) => `h${String(i).padStart(2, '0')}`);
const MANY_FLEET = `version: 1
settings: { concurrency: 10 }
hosts:
${MANY.map((h) => `  ${h}: {}`).join('\n')}
ops:
  build: { run: 'case "$NIXFLEET_HOST" in h00|h01|h02) exit 1;; esac' }
  deploy: { run: 'true' }
  check: { run: 'n=\${NIXFLEET_HOST#h}; n=\${n#0}; [ "$n" -ge 12 ] || exit $((3 + n % 2))' }
pipelines:
  ship: { ops: [build, deploy] }
`;

describe('the recap at any size', { timeout: 180_000 }, () => {
  it('a rollout stopped by its budget: each failed host, then one row per reason for the skipped', async () => {
    const dir = makeTempDir({ 'fleet.yaml': MANY_FLEET });
    const result = await runCli(dir, ['apply', 'ship', '--batch', '10', '--max-failures', '2']);
    expect(result.exitCode, result.stderr).toBe(1);
    const budget = 'failure budget exceeded: 3 of 50 hosts failed, limit 2';
    const rows = recapRows(result.stdout);
    // 50 rows before: one per host that did not complete, 47 of them with the same reason.
    expect(rows).toHaveLength(5);
    for (const [i, host] of ['h00', 'h01', 'h02'].entries()) {
      expect(rows[i]).toMatch(
        new RegExp(`^  ${host} \\[batch 1/5\\]\\s+ok=0\\s+failed=1\\s+skipped=1\\s+build ERROR: exit code 1$`),
      );
    }
    expect(rows[3]).toMatch(/^ {2}7 hosts\s+ok=1\s+failed=0\s+skipped=1\s+(.*)$/);
    expect(rows[3]).toContain(`${budget} (h03, h04, h05, …)`);
    expect(rows[4]).toMatch(/^ {2}40 hosts\s+ok=0\s+failed=0\s+skipped=2\s+/);
    expect(rows[4]).toContain(`${budget} (h10, h11, h12, …)`);
    expect(result.stdout).toContain(`rollout stopped: ${budget}`);
    // The one stage that ran, with its wave; the waves that never started have no totals.
    expect(result.stdout.match(/^stage .*: \d+ ok.*$/gm)).toEqual(['stage 1/2 build (batch 1/5): 7 ok, 3 failed']);
    // The 90 commands the budget and the failures settled at once: a line per host for the three
    // failed hosts, one line per op for the rest (CORE-002, plain output), not 87 lines.
    const skipped = result.stdout.split('\n').filter((line) => line.includes(' SKIPPED ('));
    expect(skipped).toHaveLength(5);
    for (const host of ['h00', 'h01', 'h02']) {
      expect(skipped).toContain(`[${host}] deploy SKIPPED (build ERROR: exit code 1)`);
    }
    expect(skipped).toContain(`[47 hosts] deploy SKIPPED (${budget}): h03, h04, h05 and 44 more`);
    expect(skipped).toContain(`[40 hosts] build SKIPPED (${budget}): h10, h11, h12 and 37 more`);
  });

  it('many failed hosts fold by reason, and every distinct reason keeps its row', async () => {
    const dir = makeTempDir({ 'fleet.yaml': MANY_FLEET });
    const result = await runCli(dir, ['apply', 'check']);
    expect(result.exitCode, result.stderr).toBe(1);
    const rows = recapRows(result.stdout);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toMatch(/^ {2}38 hosts\s+ok=1\s+failed=0\s+skipped=0\s+all completed: h12, h13, h14, …$/);
    expect(rows[1]).toMatch(
      /^ {2}6 hosts\s+ok=0\s+failed=1\s+skipped=0\s+check ERROR: exit code 3 \(h00, h02, h04, …\)$/,
    );
    expect(rows[2]).toMatch(
      /^ {2}6 hosts\s+ok=0\s+failed=1\s+skipped=0\s+check ERROR: exit code 4 \(h01, h03, h05, …\)$/,
    );
  });
});
