// CORE-008 in a real terminal (see CORE-002, the terminal view): the CLI runs in a pseudo-terminal
// and the test reads the screen. The frame says which batch runs and how much of the failure
// budget is used, a running host carries its batch, the recap names every host's
// batch and why the rest was SKIPPED, and says why the rollout stopped.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/cli.js';
import { type PtyRun, runInPty } from '../support/pty-screen.js';

/** A shell loop that waits (at most two minutes) for `file` to exist. */
const waitFor = (file: string) => `for i in $(seq 1 1200); do [ -e '${file}' ] && break; sleep 0.1; done`;

// One host at a time after the canary; h2 waits for the test's gate, h3 fails, the budget is 0:
// h4 never starts.
const fleet = (gate: string) => `version: 1
hosts: { h1: {}, h2: {}, h3: {}, h4: {} }
ops:
  deploy:
    run: |
      if [ "$NIXFLEET_HOST" = h2 ]; then ${waitFor(gate)}; fi
      test "$NIXFLEET_HOST" != h3
  check: { run: 'true' }
pipelines:
  ship:
    ops: [deploy, check]
    rollout: { canary: h1, batch: 1, maxFailures: 0 }
`;

const running: PtyRun[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) {
    run.done.kill('SIGKILL');
    await run.done;
  }
});

describe('a rollout in a terminal', { timeout: 180_000 }, () => {
  it('labels each host with its batch and shows why the rest was SKIPPED', async () => {
    const dir = makeTempDir();
    const gate = join(dir, 'gate');
    writeFileSync(join(dir, 'fleet.yaml'), fleet(gate));
    const run = runInPty(dir, ['apply', 'ship'], { rows: 40, columns: 160 });
    running.push(run);
    // While h2 runs, its line says which batch it is in.
    const live = await run.waitFor((s) => /[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] h2 \[batch 1\/3\] \d+\.\ds/.test(s));
    expect(live).not.toContain('h3');
    // The frame's first line says where the rollout stands.
    expect(live).toMatch(/^rollout: batch 1\/3 · failure budget 0\/0 used$/m);
    writeFileSync(gate, '');
    const result = await run.done;
    expect(result.exitCode, run.raw()).toBe(1);
    const screen = (await run.screen()).join('\n');
    const reason = 'failure budget exceeded: 1 of 4 hosts failed, limit 0';
    expect(screen).toMatch(/✖ h3 \[batch 2\/3\] deploy ERROR: exit code 1 \(\d/);
    expect(screen).toMatch(/^\s+h1 \[canary\]\s+ok=2\s+failed=0\s+skipped=0$/m);
    expect(screen).toMatch(/^\s+h2 \[batch 1\/3\]\s+ok=2\s+failed=0\s+skipped=0$/m);
    expect(screen).toMatch(/^\s+h3 \[batch 2\/3\]\s+ok=0\s+failed=1\s+skipped=1\s+deploy ERROR: exit code 1$/m);
    expect(screen).toMatch(new RegExp(`^\\s+h4 \\[batch 3/3\\]\\s+ok=0\\s+failed=0\\s+skipped=2\\s+${reason}$`, 'm'));
    expect(screen).toContain(`rollout stopped: ${reason}`);
    expect(screen).toMatch(/rollout stopped: .*\nrun r1 FAILED: 2\/4 host\(s\) completed/);
  });
});

describe('a rollout’s pause in a terminal', { timeout: 180_000 }, () => {
  it('says the rollout is paused before the next wave and counts down, and Ctrl-C ends it', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {}, h2: {} }
ops:
  deploy: { run: 'true' }
pipelines:
  ship:
    ops: [deploy]
    rollout: { canary: 1, batch: 1, pause: 30s }
`,
    });
    const run = runInPty(dir, ['apply', 'ship'], { rows: 24, columns: 100 });
    running.push(run);
    // Once the canary is done the next thing on screen is the pause, or (without it) batch 1/1.
    const paused = await run.waitFor((s) => /paused|rollout: batch 1\/1|RECAP/.test(s));
    const left = /^rollout: paused 30s before batch 1\/1 \((\d+)s left\)$/m.exec(paused);
    expect(left, paused).not.toBeNull();
    expect(paused).toMatch(/1\/1 deploy {2}1 queued · 1 ok/);
    // It counts down while the pause lasts.
    await run.waitFor((s) => Number(/\((\d+)s left\)/.exec(s)?.[1] ?? 99) < Number(left![1]));
    run.type('\u0003');
    expect((await run.done).exitCode, run.raw()).toBe(130);
    const end = (await run.screen()).join('\n');
    expect(end).not.toContain('paused');
    expect(end).toContain('run r1 CANCELLED');
  });
});
