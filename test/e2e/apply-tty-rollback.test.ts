// Rollbacks in the terminal view (see CORE-009 and CORE-002, the terminal view): the CLI runs in a
// pseudo-terminal and the test reads the screen. While a failed host's rollback runs, its line
// stays open (`rolling back`, the rollback's output, the stage not over); at the end it says
// rolled back, or that the rollback failed and a person is needed, with the rollback's output.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/cli.js';
import { type PtyRun, runInPty } from '../support/pty-screen.js';

/** A shell loop that waits (at most two minutes) for `file` to exist. */
const waitFor = (file: string) => `for i in $(seq 1 1200); do [ -e '${file}' ] && break; sleep 0.1; done`;

// web2's rollback prints, then waits for the test's gate; db1's rollback fails at once.
const fleet = (gate: string) => `version: 1
hosts: { web1: {}, web2: {}, db1: {} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" != web1 ]; then echo "disk full on $NIXFLEET_HOST"; exit 3; fi; echo ok
    rollback: if [ "$NIXFLEET_HOST" = db1 ]; then echo "db1 cannot go back"; exit 9; fi; echo "undoing web2"; ${waitFor(gate)}; echo "undone"
  check:
    run: "true"
pipelines:
  ship: { ops: [deploy, check] }
`;

const running: PtyRun[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) {
    run.done.kill('SIGKILL');
    await run.done;
  }
});

describe('rollback in a terminal', { timeout: 180_000 }, () => {
  it('the failed host’s line says rolled back, or that the rollback failed and the host needs a person', async () => {
    const dir = makeTempDir();
    const gate = join(dir, 'gate');
    writeFileSync(join(dir, 'fleet.yaml'), fleet(gate));
    const run = runInPty(dir, ['apply', 'ship'], { rows: 40, columns: 160 });
    running.push(run);
    // db1's rollback fails at once, web2's waits for the gate: once both show, the screen holds still.
    const live = await run.waitFor((s) => s.includes('↺ undoing web2') && s.includes('db1 needs a person'));
    expect(live).toMatch(/✖ web2 deploy ERROR: exit code 3 \(\d+\.\ds\), rolling back$/m);
    // The stage is not over while web2 rolls back: a spinner, not ✖, and the next stage waits.
    expect(live).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] 1\/2 deploy .*1 rolling back/m);
    expect(live).toMatch(/^○ 2\/2 check/m);
    writeFileSync(gate, '');
    const result = await run.done;
    expect(result.exitCode, run.raw()).toBe(4);
    const screen = (await run.history()).join('\n');
    expect(screen).toMatch(/✖ web2 deploy ERROR: exit code 3 \(\d+\.\ds\), rolled back \(\d+\.\ds\)$/m);
    expect(screen).toMatch(
      /✖ db1 deploy ERROR: exit code 3 \(\d+\.\ds\), rollback ERROR \(\d+\.\ds\): db1 needs a person$/m,
    );
    expect(screen).toMatch(/db1: rollback c\d+ ERROR: rollback failed \(exit 9\)\n\s+\| db1 cannot go back/);
    // The recap says it too.
    expect(screen).toMatch(/^\s+web2\s+ok=0\s+failed=1\s+skipped=1\s+deploy ERROR: exit code 3, rolled back/m);
    expect(screen).toMatch(
      /^\s+db1\s+ok=0 .*deploy ERROR: exit code 3, rollback ERROR \(\d+\.\ds\): db1 needs a person/m,
    );
    // script(1) merges stderr into the terminal: the loud line is there too.
    expect(screen).toMatch(
      /nixfleet: rollback c\d+ of deploy on db1 ERROR: rollback failed \(exit 9\); db1 needs a person/,
    );
  });
});
