// CORE-008 in a real terminal (script(1) gives the CLI a pseudo-terminal, so the Listr2 tree is
// drawn): each host carries its batch, a SKIPPED host its reason, and the summary says why the
// rollout stopped.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, makeTempDir } from '../support/cli.js';

// One host at a time after the canary; h3 fails, the budget is 0: h4 never starts.
const FLEET = `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
ops:
  deploy: { run: 'test "$NIXFLEET_HOST" != h3' }
  check: { run: 'true' }
pipelines:
  ship:
    ops: [deploy, check]
    rollout: { canary: h1, batch: 1, maxFailures: 0 }
`;

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

describe('a rollout in a terminal', () => {
  it('labels each host with its batch and shows why the rest was SKIPPED', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    delete env.CI;
    const result = await execa('script', ['-qec', `stty cols 160 rows 50; node ${BIN} apply ship`, '/dev/null'], {
      cwd: dir,
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    });
    const raw = String(result.stdout);
    expect(result.exitCode, raw).toBe(1);
    const screen = raw.replace(ESCAPES, '').replace(/\r/g, '');
    const reason = 'failure budget exceeded: 1 of 4 hosts failed, limit 0';
    expect(screen).toMatch(/✔ h1 \[canary\] SUCCESS \(\d/);
    expect(screen).toMatch(/✔ h2 \[batch 1\/3\] SUCCESS \(\d/);
    expect(screen).toMatch(/✖ h3 \[batch 2\/3\] ERROR \(\d/);
    expect(screen).toContain(`h4 [batch 3/3] SKIPPED: ${reason}`);
    expect(screen).toContain(`rollout stopped: ${reason}`);
    expect(screen).toMatch(/run r1 FAILED: 2\/4 host\(s\) completed/);
  });
});
