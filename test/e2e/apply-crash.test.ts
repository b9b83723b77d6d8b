// A nixfleet killed with SIGKILL mid-run (see CORE-011): its commands do not outlive it, and the
// next run on those hosts never overlaps a command that is still running.
import { mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import { waitFor, waitForFile, waitForPid, waitForPids } from '../engine/support/wait-for.js';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { childrenMatching, isRunning, killWithLifeline, processesMatching } from '../support/processes.js';

vi.setConfig({ testTimeout: 240_000 });

// `hang` leaves a shell and a background child per host, each writing its pid; `check` fails if
// any of them still runs when it starts (state read from /proc: a zombie is dead).
const FLEET = `version: 1
hosts: { h1: {}, h2: {} }
ops:
  hang:
    run: echo $$ > shell-$NIXFLEET_HOST; sleep 600 & echo $! > child-$NIXFLEET_HOST; wait
  check:
    run: |
      for f in shell-$NIXFLEET_HOST child-$NIXFLEET_HOST; do
        s=$(sed 's/.*) //' /proc/$(cat $f)/stat 2>/dev/null | cut -d' ' -f1)
        if [ -n "$s" ] && [ "$s" != Z ]; then echo "$f still running"; exit 7; fi
      done
`;

const PID_FILES = ['shell-h1', 'child-h1', 'shell-h2', 'child-h2'];

async function startAndKill(dir: string, alsoKillLifeline: boolean): Promise<number[]> {
  const apply = spawnCli(dir, ['apply', 'hang'], { timeoutMs: 240_000 });
  const pids = await waitForPids(PID_FILES.map((file) => join(dir, file)));
  expect(childrenMatching(apply.pid!, 'held[$2]')).toHaveLength(1);
  if (alsoKillLifeline) await killWithLifeline(apply);
  else {
    apply.kill('SIGKILL');
    await apply;
  }
  return pids;
}

describe('kill -9 of nixfleet during a local run', () => {
  it('leaves no process of the run alive; the next apply on those hosts runs after them', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const pids = await startAndKill(dir, false);
    // The lifeline kills the groups as soon as nixfleet is gone; bounded for a loaded machine.
    await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the killed run’s processes to end', 30_000);
    const next = await runCli(dir, ['apply', 'check']);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    const runs = JSON.parse((await runCli(dir, ['runs', '--json'])).stdout) as { id: string; status: string }[];
    expect(runs.map((r) => [r.id, r.status])).toEqual([
      ['r2', 'COMPLETE'],
      ['r1', 'ORPHANED'],
    ]);
  });

  it('when the lifeline died too, recovery kills the still-running commands before freeing their hosts', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const pids = await startAndKill(dir, true);
    // Nothing killed them: they still run, and the journal knows their groups.
    expect(pids.filter(isRunning)).toEqual(pids);
    const next = await runCli(dir, ['apply', 'check']);
    expect(next.exitCode, next.stdout + next.stderr).toBe(0);
    expect(pids.filter(isRunning)).toEqual([]);
    const journal = openJournal(join(dir, '.nixfleet'));
    try {
      expect(journal.getRun('r1')?.status).toBe('ORPHANED');
    } finally {
      journal.close();
    }
  });
});

describe('kill -9 of nixfleet with stages still to come', () => {
  it('says of each ORPHANED command whether it was cut short or never started', async () => {
    // `hang` runs on both hosts when nixfleet dies; `check`, the next stage, never starts.
    const dir = makeTempDir({ 'fleet.yaml': `${FLEET}pipelines:\n  both: { ops: [hang, check] }\n` });
    const apply = spawnCli(dir, ['apply', 'both'], { timeoutMs: 240_000 });
    const pids = await waitForPids(PID_FILES.map((file) => join(dir, file)));
    apply.kill('SIGKILL');
    await apply;
    await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the killed run’s processes to end', 30_000);
    // `show` opens the journal to write, so it is what recovers the dead run (CORE-003).
    const show = await runCli(dir, ['show', 'r1']);
    expect(show.exitCode, show.stderr).toBe(0);
    const who = `nixfleet process ${apply.pid} on ${hostname()}`;
    // CORE-003, recovery: `check` was PENDING; it read "stopped before this finished" as if it ran.
    expect(show.stdout.split('\n').filter((line) => line.includes(' ORPHANED: '))).toEqual([
      `c1 [h1] hang ORPHANED: orphaned: ${who} stopped before this finished`,
      `c2 [h2] hang ORPHANED: orphaned: ${who} stopped before this finished`,
      `c3 [h1] check ORPHANED: orphaned: never started: ${who} stopped before starting it`,
      `c4 [h2] check ORPHANED: orphaned: never started: ${who} stopped before starting it`,
    ]);
  });
});

describe('a lifeline killed while nixfleet runs', () => {
  it('is replaced at once by one that holds every running command, and kills them when nixfleet dies', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'hang'], { timeoutMs: 240_000 });
    const pids = await waitForPids(PID_FILES.map((file) => join(dir, file)));
    const [first] = childrenMatching(apply.pid!, 'held[$2]');
    process.kill(-first!, 'SIGKILL');
    // No command starts or ends while they hang: only the replacement can hold them now.
    await waitFor(
      () => childrenMatching(apply.pid!, 'held[$2]').filter((pid) => pid !== first).length === 1,
      'a new lifeline',
      30_000,
    );
    expect(pids.filter(isRunning)).toEqual(pids);
    // It holds the list from its start, in its environment: nothing written after the spawn,
    // which a nixfleet killed at once would never have written.
    const [replacement] = childrenMatching(apply.pid!, 'held[$2]').filter((pid) => pid !== first);
    const environment = readFileSync(`/proc/${replacement}/environ`, 'utf8').split('\0');
    const list = environment.find((entry) => entry.startsWith('NIXFLEET_HELD='))?.slice('NIXFLEET_HELD='.length);
    for (const shell of ['shell-h1', 'shell-h2']) {
      expect(list?.split(' ')).toContain(`g${readFileSync(join(dir, shell), 'utf8').trim()}`);
    }
    apply.kill('SIGKILL');
    await apply;
    await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the run’s processes to end', 30_000);
  });
});

describe('kill -9 of nixfleet started with a PATH that has no awk or grep', () => {
  it('still has its lifeline kill the command and the daemon it moved out of its group', async () => {
    // A PATH that names only what the op runs (a service unit's, a pure build shell's): the
    // lifeline's awk and grep are not on it (CORE-011, "The local lifeline").
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { h1: {} }
ops:
  hang:
    run: setsid sh -c 'echo $$ > daemon-pid; exec sleep 600' </dev/null >/dev/null 2>&1 & echo $$ > shell-pid; sleep 600
`,
    });
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    for (const name of ['sh', 'sleep', 'setsid']) symlinkSync(`/usr/bin/${name}`, join(bin, name));
    symlinkSync(process.execPath, join(bin, 'node'));
    const apply = spawnCli(dir, ['apply', 'hang'], { timeoutMs: 240_000, env: { PATH: bin } });
    const pids: number[] = [];
    try {
      for (const file of ['shell-pid', 'daemon-pid']) {
        pids.push(await waitForPid(join(dir, file)));
      }
      expect(pids.filter(isRunning)).toEqual(pids);
      apply.kill('SIGKILL');
      await apply;
      await waitFor(() => pids.every((pid) => !isRunning(pid)), 'the killed run’s processes to end', 30_000);
    } finally {
      apply.kill('SIGKILL');
      // What a failed run leaves: the shell's group (it leads it) and the daemon.
      for (const pid of pids) {
        for (const target of [-pid, pid]) {
          try {
            process.kill(target, 'SIGKILL');
          } catch {
            // Gone, as it should be.
          }
        }
      }
    }
  });
});

// `setsid` moves the daemon out of the command's process group; on Linux it still carries the
// command's NIXFLEET_PROCESS_TAG, which is how it is found.
const DAEMON_FLEET = `version: 1
hosts: { h1: {} }
ops:
  daemon-and-wait:
    run: setsid sh -c 'echo $$ > daemon-pid; exec sleep 600' </dev/null >/dev/null 2>&1 & sleep 600
  daemon-and-time-out:
    run: setsid sh -c 'trap "" TERM; echo $$ > daemon-pid; while :; do sleep 1; done' </dev/null >/dev/null 2>&1 & sleep 600
    timeout: 2s
  daemon-and-succeed:
    run: setsid sh -c 'echo $$ > daemon-pid; exec sleep 600' </dev/null >/dev/null 2>&1 &
`;

describe('a daemon an op moved out of its process group (setsid)', () => {
  const daemonPid = (dir: string) => waitForPid(join(dir, 'daemon-pid'));

  it('is killed by the lifeline when nixfleet is killed with SIGKILL', async () => {
    const dir = makeTempDir({ 'fleet.yaml': DAEMON_FLEET });
    const apply = spawnCli(dir, ['apply', 'daemon-and-wait'], { timeoutMs: 240_000 });
    const daemon = await daemonPid(dir);
    expect(isRunning(daemon)).toBe(true);
    apply.kill('SIGKILL');
    await apply;
    await waitFor(() => !isRunning(daemon), 'the setsid daemon to end', 30_000);
  });

  it('is killed with its command on timeout, even when it ignores SIGTERM', async () => {
    const dir = makeTempDir({ 'fleet.yaml': DAEMON_FLEET });
    const result = await runCli(dir, ['apply', 'daemon-and-time-out', '--json']);
    expect(result.exitCode, result.stderr).toBe(1);
    expect(JSON.parse(result.stdout).hosts.h1[0].status).toBe('TIMEOUT');
    expect(isRunning(await daemonPid(dir))).toBe(false);
  });

  it('is left running when the command that started it succeeded, as a daemon should be', async () => {
    const dir = makeTempDir({ 'fleet.yaml': DAEMON_FLEET });
    const result = await runCli(dir, ['apply', 'daemon-and-succeed']);
    expect(result.exitCode, result.stderr).toBe(0);
    const daemon = await daemonPid(dir);
    // nixfleet has exited and its lifeline has read end-of-file: the daemon was released first.
    await new Promise((r) => setTimeout(r, 1_000));
    expect(isRunning(daemon)).toBe(true);
    process.kill(daemon, 'SIGKILL');
  });
});

// Two crashed runs whose processes keep coming back (a respawner that left the group and carries
// no tag, starting tagged children every few milliseconds for 25 s), and a live run on another host.
const STUBBORN_MARK = `nixfleet-test-stubborn-${process.pid}`;
const STUBBORN_FLEET = `version: 1
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  stubborn:
    run: |
      T=$NIXFLEET_PROCESS_TAG env -u NIXFLEET_PROCESS_TAG setsid perl -e '$SIG{CHLD} = "IGNORE"; my $end = time + 25; while (time < $end) { my $pid = fork; if (defined $pid && !$pid) { $ENV{NIXFLEET_PROCESS_TAG} = $ENV{T}; exec { "sleep" } "${STUBBORN_MARK}", "20"; exit 1 } select(undef, undef, undef, 0.002) }' >/dev/null 2>&1 &
      echo started > started-$NIXFLEET_HOST
      sleep 600
  chatty:
    run: echo started > chatty-started; i=0; while [ $i -lt 100 ]; do echo line $i; i=$((i+1)); sleep 0.1; done
`;

describe('recovery of crashed runs whose processes will not end', () => {
  afterEach(() => {
    // The respawners (their script names the mark) first, then what they started.
    for (let pass = 0; pass < 3; pass++) {
      for (const pid of processesMatching(STUBBORN_MARK)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Gone between the look and the kill.
        }
      }
    }
  });

  it('waits for them without holding the journal: a live run on another host journals on and completes', async () => {
    const dir = makeTempDir({ 'fleet.yaml': STUBBORN_FLEET });
    for (const host of ['h1', 'h2']) {
      const apply = spawnCli(dir, ['apply', 'stubborn', '--on', host], { timeoutMs: 120_000 });
      await waitForFile(join(dir, `started-${host}`));
      expect(childrenMatching(apply.pid!, 'held[$2]')).toHaveLength(1);
      await killWithLifeline(apply);
    }
    const live = spawnCli(dir, ['apply', 'chatty', '--on', 'h3', '--renderer', 'plain'], { timeoutMs: 120_000 });
    await waitForFile(join(dir, 'chatty-started'));
    // Recovery finds two dead owners whose processes outlast its wait (3 s each, were it to wait
    // with the write lock held: longer than the 5 s any other nixfleet waits for the journal).
    const runs = await runCli(dir, ['runs']);
    expect(runs.exitCode, runs.stderr).toBe(0);
    const result = await live;
    const [stdout, stderr] = [String(result.stdout), String(result.stderr)];
    expect(result.exitCode, stdout + stderr).toBe(0);
    const runId = /^run (r\d+)/m.exec(stdout)![1]!;
    expect((await runCli(dir, ['logs', runId])).stdout).toContain('line 99');
    // Once the respawners are done, a later recovery finds nothing alive and frees their hosts.
    let orphaned = 0;
    for (let attempt = 0; attempt < 60 && orphaned < 2; attempt++) {
      const listed = JSON.parse((await runCli(dir, ['runs', '--json'])).stdout) as { status: string }[];
      orphaned = listed.filter((run) => run.status === 'ORPHANED').length;
      if (orphaned < 2) await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    expect(orphaned).toBe(2);
  });
});
