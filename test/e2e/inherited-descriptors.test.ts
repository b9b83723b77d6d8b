// A descriptor nixfleet inherited without close-on-exec never reaches its commands (CORE-001, "The
// spawner process"). The case that matters: a deploy script holds a lock as `exec 200>lock;
// flock -n 200` (bash) and runs `nixfleet apply`, whose op leaves a daemon running. Had the daemon
// inherited fd 200, the lock would stay held after the script ended, and every later run of the
// script would find it taken. The real CLI under each spawner, chosen by what is on PATH (the Node
// one where neither `python3` nor `perl` is).
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { waitForPid } from '../engine/support/wait-for.js';
import { BIN, lingeringProgram, makeTempDir } from '../support/cli.js';
import { isRunning } from '../support/processes.js';

const daemons: number[] = [];
afterEach(() => {
  for (const pid of daemons.splice(0)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone already.
    }
  }
});

describe.runIf(process.platform === 'linux' && existsSync('/usr/bin/flock'))(
  'a lock the caller holds on an inherited descriptor',
  () => {
    it.each([
      ['Python', 'python3', 'spawner.py'],
      ['Perl', 'perl', 'spawner.pl'],
      ['Node', null, 'spawner-process.js'],
    ])(
      'is not held by what an op leaves running (the %s spawner)',
      { timeout: 90_000 },
      async (_, program, spawner) => {
        const dir = makeTempDir();
        const bin = join(dir, 'bin');
        mkdirSync(bin);
        for (const name of ['sh', 'sleep', 'flock', 'ls', 'cat', ...(program === null ? [] : [program])])
          symlinkSync(`/usr/bin/${name}`, join(bin, name));
        // The lifeline (CORE-011) takes its awk from PATH: this one lingers a second after the
        // real one ends, so a lifeline that outlived nixfleet would still hold fd 200 then.
        lingeringProgram(bin, 'awk', '/usr/bin/awk');
        const pidFile = join(dir, 'daemon.pid');
        const listing = join(dir, 'fds');
        const parent = join(dir, 'parent');
        const parentListing = join(dir, 'parent-fds');
        writeFileSync(
          join(dir, 'fleet.yaml'),
          `version: 1
hosts:
  web1: { transport: local }
ops:
  start:
    run: 'cat /proc/$PPID/cmdline > ${parent}; ls /proc/$PPID/fd > ${parentListing}; ls /proc/self/fd > ${listing}; sleep 60 </dev/null >/dev/null 2>&1 & echo $! > ${pidFile}'
`,
        );
        const lock = join(dir, 'deploy.lock');
        const script = `exec 200>"$LOCK"; flock -n 200 || exit 9; exec "$NODE" "$NIXFLEET" apply start --renderer plain`;
        const run = await execa('/bin/bash', ['-c', script], {
          cwd: dir,
          reject: false,
          env: { PATH: bin, LOCK: lock, NODE: process.execPath, NIXFLEET: BIN },
          extendEnv: false,
          timeout: 60_000,
        });
        expect(run.exitCode, `${run.stdout}\n${run.stderr}`).toBe(0);
        expect(readFileSync(parent, 'utf8')).toContain(spawner);
        const daemon = await waitForPid(pidFile);
        daemons.push(daemon);
        expect(isRunning(daemon)).toBe(true);
        // The op's shell had only its standard streams (and ls its own listing), and its spawner
        // did not keep fd 200 either.
        const descriptors = (file: string) => readFileSync(file, 'utf8').split('\n').filter(Boolean).map(Number);
        expect(descriptors(listing)).not.toContain(200);
        expect(descriptors(parentListing)).not.toContain(200);
        // The script is gone; its lock is free though the daemon runs on, and nothing else of
        // nixfleet holds it: its lifeline ended before it did.
        const taken = await execa('/usr/bin/flock', ['-n', lock, 'true'], { reject: false });
        expect(taken.exitCode).toBe(0);
      },
    );
  },
);
