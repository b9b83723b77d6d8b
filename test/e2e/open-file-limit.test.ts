// Out of file descriptors (`ulimit -n` set very low): never "internal error" with a stack trace
// (CORE-001, spawn failures). Where it runs out depends on the limit and on the Node: while
// nixfleet loads its own modules (an open that fails, EMFILE, or Node's resolver that then takes a
// package for missing), which is one line and a hint, exit 2; or when the spawner of the commands
// cannot be started, which fails those commands (ERROR, `too many open files`), exit 1.
import { execa } from 'execa';
import { expect, it } from 'vitest';
import { BIN, makeTempDir } from '../support/cli.js';

it('apply under a very low `ulimit -n` says so, with no stack trace, or runs', { timeout: 120_000 }, async () => {
  const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  quick: { run: echo hi }\n' });
  const refused: string[] = [];
  for (const limit of [20, 25, 30, 35, 40, 50]) {
    const result = await execa('sh', ['-c', `ulimit -n ${limit} && exec node "$0" apply quick`, BIN], {
      cwd: dir,
      reject: false,
      env: { CI: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    });
    const context = `${limit}: ${result.stdout}${result.stderr}`;
    if (result.exitCode === 0) continue;
    // So low that Node itself failed before any of nixfleet ran: it could not open the entry
    // script or its package.json (Node's own message), or it crashed (Node 24 at 20).
    const nodeAlone =
      result.signal !== undefined ||
      result.stderr.startsWith('node:internal') ||
      result.stderr.includes(`EMFILE: too many open files, open '${BIN}'`);
    if (nodeAlone) continue;
    expect(result.stderr, context).not.toMatch(/internal error|\n\s+at /);
    if (result.exitCode === 1) {
      // The run started, and its command could not.
      expect(result.stdout, context).toContain('[h1] quick ERROR');
      expect(result.stdout, context).toContain('local: cannot start /bin/sh: too many open files (EMFILE)');
      refused.push(`${limit}: the command`);
      continue;
    }
    expect(result.exitCode, context).toBe(2);
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines, context).toHaveLength(2);
    // Mostly `too many open files (EMFILE: …)` or `cannot load a part of nixfleet (…)`, with the
    // hint to raise `ulimit -n`; a journal that could not be opened is said as such.
    expect(lines[0], context).toMatch(/^nixfleet: /);
    expect(lines[1], context).toMatch(/^ {2}hint: /);
    refused.push(`${limit}: nixfleet`);
  }
  // The checks above can fail: at least one of these limits is too low for apply to run.
  expect(refused.length).toBeGreaterThan(0);
});

it('runs under a very low `ulimit -n` blames the limit, not the data directory', { timeout: 120_000 }, async () => {
  // SQLite says only "unable to open database file" when it runs out of descriptors: the journal
  // must not send the user to check a data directory that is fine (CORE-003).
  const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  quick: { run: echo hi }\n' });
  const applied = await execa('node', [BIN, 'apply', 'quick'], { cwd: dir, reject: false, env: { CI: 'true' } });
  expect(applied.exitCode, applied.stderr).toBe(0);
  const refused: string[] = [];
  for (let limit = 16; limit <= 40; limit++) {
    const result = await execa('sh', ['-c', `ulimit -n ${limit} && exec node "$0" runs`, BIN], {
      cwd: dir,
      reject: false,
      env: { CI: 'true', NO_COLOR: '1' },
      timeout: 60_000,
    });
    const context = `${limit}: ${result.stdout}${result.stderr}`;
    if (result.exitCode === 0) {
      expect(result.stdout, context).toMatch(/^r1\s+quick\s+COMPLETE/m);
      continue;
    }
    const nodeAlone =
      result.signal !== undefined ||
      result.stderr.startsWith('node:internal') ||
      result.stderr.startsWith('node:fs') ||
      result.stderr.includes(`EMFILE: too many open files, open '${BIN}'`);
    if (nodeAlone) continue;
    expect(result.exitCode, context).toBe(2);
    expect(result.stderr, context).not.toContain('writable directory');
    expect(result.stderr, context).toContain('`ulimit -n`');
    if (result.stderr.includes('nixfleet.db')) expect(result.stderr, context).toContain('too many open files');
    refused.push(String(limit));
  }
  expect(refused.length).toBeGreaterThan(0);
});
