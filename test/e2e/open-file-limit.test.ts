// Out of file descriptors while nixfleet loads its own modules (`ulimit -n` set very low): one line
// and a hint, exit 2, never "internal error" with a stack trace (CORE-001, spawn failures). Where
// the loading runs out depends on the limit: an open that fails (EMFILE), or Node's resolver that
// then takes a package for missing (ERR_MODULE_NOT_FOUND).
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { BIN, makeTempDir } from '../support/cli.js';

it('apply under a very low `ulimit -n` says so with a hint, exit 2, or runs', { timeout: 120_000 }, async () => {
  const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  quick: { run: echo hi }\n' });
  const refused: string[] = [];
  for (const limit of [20, 25, 30, 35, 40, 50]) {
    const result = await execa('sh', ['-c', `ulimit -n ${limit} && exec node "$0" apply quick`, BIN], {
      cwd: dir,
      reject: false,
      env: { CI: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    });
    if (result.exitCode === 0) continue;
    expect(result.exitCode, `${limit}: ${result.stderr}`).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, String(limit)).toHaveLength(2);
    expect(lines[0], String(limit)).toMatch(/^nixfleet: (too many open files|cannot load a part of nixfleet) \(/);
    expect(lines[1], String(limit)).toMatch(/^ {2}hint: .*`ulimit -n`/);
    refused.push(lines[0]!);
  }
  // The check above can fail: at least one of these limits is too low to load what apply needs.
  expect(refused.length).toBeGreaterThan(0);
});
