// Once `nixfleet apply` has exited, nothing it started still keeps its working directory
// (CORE-011, "The local lifeline"; CORE-001, "The spawner process"): its normal end waits for its
// spawners and its lifeline to end. Left to end after it, they kept the directory a moment longer,
// and a script's `umount` right after nixfleet could find it busy. Here each spawner's interpreter
// and the lifeline's `awk` linger a second after they end, so anything not waited for is seen.
import { mkdirSync, readdirSync, readlinkSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, lingeringProgram, makeTempDir } from '../support/cli.js';
import { describeProcesses } from '../support/processes.js';

/** Processes whose working directory is `dir`. */
function inDirectory(dir: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readlinkSync(`/proc/${entry}/cwd`) === dir) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

describe.runIf(process.platform === 'linux')('once apply has exited', () => {
  it.each([
    ['Python', 'python3'],
    ['Perl', 'perl'],
    ['Node', null],
  ])('nothing it started keeps its directory (the %s spawner)', { timeout: 60_000 }, async (_, program) => {
    const dir = realpathSync(makeTempDir());
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const name of ['sh', 'sleep', 'true']) symlinkSync(`/usr/bin/${name}`, join(bin, name));
    lingeringProgram(bin, 'awk', '/usr/bin/awk');
    if (program === 'perl') lingeringProgram(bin, 'perl', '/usr/bin/perl');
    if (program === 'python3') {
      // nixfleet runs the python3 whose real name says its version (CORE-001).
      const real = realpathSync('/usr/bin/python3');
      lingeringProgram(bin, basename(real), real);
      symlinkSync(basename(real), join(bin, 'python3'));
    }
    writeFileSync(
      join(dir, 'fleet.yaml'),
      'version: 1\nhosts:\n  web1: { transport: local }\n  web2: { transport: local }\nops:\n  check: { run: "true" }\n',
    );
    // stderr is not the test's pipe: the spawners write theirs there, and execa would wait for it.
    const run = await execa(process.execPath, [BIN, 'apply', 'check', '--renderer', 'plain'], {
      cwd: dir,
      reject: false,
      stderr: 'ignore',
      env: { PATH: bin },
      extendEnv: false,
      timeout: 30_000,
    });
    expect(run.exitCode, run.stdout).toBe(0);
    const left = inDirectory(dir);
    expect(left, describeProcesses(left)).toEqual([]);
  });
});
