// `apply` in a real terminal: the CLI runs under script(1), which gives it a pseudo-terminal, so
// the Listr2 tree renderer is chosen exactly as it would be for a person (CORE-002).
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, makeTempDir } from '../support/cli.js';

const FLEET = `version: 1
hosts: { web1: {}, web2: {} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" = web2 ]; then echo "disk full on web2"; exit 3; fi; echo ok
  check:
    run: "true"
pipelines:
  ship: { ops: [deploy, check] }
`;

const ESCAPES = /\x1b\[[0-9;?]*[A-Za-z]/g;

describe('apply in a terminal', () => {
  it('draws the stage → host tree, with the failed host’s reason and last output', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const env: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1' };
    delete env.CI;
    const result = await execa('script', ['-qec', `stty cols 120 rows 40; node ${BIN} apply ship`, '/dev/null'], {
      cwd: dir,
      env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 120_000,
    });
    const raw = String(result.stdout);
    expect(result.exitCode, raw).toBe(1);
    // The tree redraws in place: the plain renderer never writes escape codes, this one does.
    expect(raw).toMatch(ESCAPES);
    const screen = raw.replace(ESCAPES, '').replace(/\r/g, '');
    expect(screen).toMatch(/✔ web1 SUCCESS \(\d/);
    expect(screen).toMatch(/✖ web2 ERROR \(\d/);
    expect(screen).toContain('web2: exit code 3');
    expect(screen).toContain('| disk full on web2');
    expect(screen).toMatch(/run r1 PARTIAL: 1\/2 host\(s\) completed/);
  });
});
