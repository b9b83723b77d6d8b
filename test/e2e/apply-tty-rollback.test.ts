// Rollbacks in the terminal tree (see CORE-009): under script(1) the CLI draws the Listr2 tree,
// and a failed host's line says it was rolled back, or that the rollback failed and a person is
// needed, with the rollback's own output.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, makeTempDir } from '../support/cli.js';

const FLEET = `version: 1
hosts: { web1: {}, web2: {}, db1: {} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" != web1 ]; then echo "disk full on $NIXFLEET_HOST"; exit 3; fi; echo ok
    rollback: if [ "$NIXFLEET_HOST" = db1 ]; then echo "db1 cannot go back"; exit 9; fi; echo "undone"
  check:
    run: "true"
pipelines:
  ship: { ops: [deploy, check] }
`;

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

describe('rollback in a terminal', () => {
  it('the failed host’s line says rolled back, or that the rollback failed and the host needs a person', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    delete env.CI;
    const result = await execa('script', ['-qec', `stty cols 160 rows 40; node ${BIN} apply ship`, '/dev/null'], {
      cwd: dir,
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    });
    const raw = String(result.stdout);
    expect(result.exitCode, raw).toBe(4);
    const screen = raw.replace(ESCAPES, '').replace(/\r/g, '');
    expect(screen).toMatch(/✔ web1 SUCCESS \(\d/);
    expect(screen).toMatch(/✖ web2 ERROR \(\d+\.\ds\), rolled back \(\d+\.\ds\)/);
    expect(screen).toMatch(/✖ db1 ERROR \(\d+\.\ds\), rollback ERROR \(\d+\.\ds\): db1 needs a person/);
    expect(screen).toMatch(/db1: rollback c\d+ ERROR: rollback failed \(exit 9\)/);
    expect(screen).toContain('| db1 cannot go back');
    // script(1) merges stderr into the terminal: the loud line is there too.
    expect(screen).toMatch(
      /nixfleet: rollback c\d+ of deploy on db1 ERROR: rollback failed \(exit 9\); db1 needs a person/,
    );
  });
});
