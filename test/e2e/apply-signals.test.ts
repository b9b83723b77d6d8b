// Ctrl-C, `nixfleet cancel` from another process, busy hosts and a killed runner, end to end.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it, vi } from 'vitest';
import { liveGroupMembers } from '../../src/domain/process-group.js';
import { openJournal } from '../../src/store/journal.js';
import { waitForFile, waitForPid } from '../engine/support/wait-for.js';
import { BIN, makeTempDir, runCli, spawnCli } from '../support/cli.js';

// Real processes on a shared two-core machine: generous bounds, every wait still bounded.
vi.setConfig({ testTimeout: 240_000 });

const FLEET = `version: 1
settings: { concurrency: 1 }
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  work:
    run: echo $$ > pgid-$NIXFLEET_HOST; touch started-$NIXFLEET_HOST; sleep 1.5; touch finished-$NIXFLEET_HOST
  after:
    run: "true"
  hang:
    run: echo $$ > pgid-$NIXFLEET_HOST; touch started-$NIXFLEET_HOST; sleep 600
pipelines:
  two: { ops: [work, after] }
`;

function statuses(dir: string, runId: string) {
  const journal = openJournal(join(dir, '.nixfleet'));
  try {
    return {
      run: journal.getRun(runId)?.status,
      commands: Object.fromEntries(journal.listCommands({ runId }).map((c) => [`${c.stage}:${c.hostId}`, c.status])),
    };
  } finally {
    journal.close();
  }
}

describe('Ctrl-C', () => {
  it('the first SIGINT lets the running command finish, cancels the rest, exit 130', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'two', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    apply.kill('SIGINT');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    const report = JSON.parse(String(result.stdout));
    expect(report.status).toBe('CANCELLED');
    expect(String(result.stderr)).toContain('cancelling run');
    expect(readFileSync(join(dir, 'finished-h1'), 'utf8')).toBe('');
    expect(statuses(dir, report.runId)).toEqual({
      run: 'CANCELLED',
      commands: {
        '0:h1': 'SUCCESS',
        '0:h2': 'CANCELLED',
        '0:h3': 'CANCELLED',
        '1:h1': 'CANCELLED',
        '1:h2': 'CANCELLED',
        '1:h3': 'CANCELLED',
      },
    });
  });

  it('a Ctrl-C sent to the whole process group, as a terminal does, still lets the running command finish', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    // A terminal sends SIGINT to its foreground process group: nixfleet and every process of its
    // own that shares the group. Only nixfleet may act on it (CORE-002, CORE-011).
    const apply = execa('node', [BIN, 'apply', 'two', '--json'], {
      cwd: dir,
      reject: false,
      detached: true,
      env: { CI: 'true', NO_COLOR: '1' },
      timeout: 240_000,
    });
    await waitForFile(join(dir, 'started-h1'));
    process.kill(-(apply.pid as number), 'SIGINT');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(readFileSync(join(dir, 'finished-h1'), 'utf8')).toBe('');
    expect(statuses(dir, JSON.parse(String(result.stdout)).runId).commands['0:h1']).toBe('SUCCESS');
  });

  it('a second SIGINT kills the running command too', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'hang', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    apply.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 200));
    const killedAt = Date.now();
    apply.kill('SIGINT');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(Date.now() - killedAt).toBeLessThan(15_000);
    const report = JSON.parse(String(result.stdout));
    expect(report.hosts.h1[0]).toMatchObject({ status: 'CANCELLED', error: 'killed by cancel' });
    expect(report.hosts.h2[0]).toMatchObject({ status: 'CANCELLED' });
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid-h1'), 'utf8')))).toEqual([]);
  });
});

describe('SIGTERM', () => {
  it('kills the running command, cancels the rest, journals the run CANCELLED, exit 130', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'hang', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    const terminatedAt = Date.now();
    apply.kill('SIGTERM');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(Date.now() - terminatedAt).toBeLessThan(15_000);
    const report = JSON.parse(String(result.stdout));
    expect(statuses(dir, report.runId)).toEqual({
      run: 'CANCELLED',
      commands: { '0:h1': 'CANCELLED', '0:h2': 'CANCELLED', '0:h3': 'CANCELLED' },
    });
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid-h1'), 'utf8')))).toEqual([]);
    const journal = openJournal(join(dir, '.nixfleet'));
    try {
      const runEvents = journal.listEvents().filter((e) => e.category === 'run');
      expect(runEvents.map((e) => [e.action, e.level, e.actor])).toEqual([
        ['finished', 'warn', 'cli'],
        ['started', 'info', 'cli'],
      ]);
    } finally {
      journal.close();
    }
  });
});

/**
 * `python3 -c HANG_UP FILE COMMAND…`: runs COMMAND as the only process of a terminal of its own
 * (Python's pty.fork), closes the terminal once FILE exists, as a closed window or a dropped ssh
 * session does, and prints how COMMAND ended: `exit N` or `signal N`.
 */
const HANG_UP = `
import os, pty, select, sys, time
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
deadline = time.time() + 60
while not os.path.exists(sys.argv[1]) and time.time() < deadline:
    if select.select([fd], [], [], 0.1)[0]:
        try:
            os.read(fd, 65536)
        except OSError:
            break
os.close(fd)
_, status = os.waitpid(pid, 0)
print('signal %d' % os.WTERMSIG(status) if os.WIFSIGNALED(status) else 'exit %d' % os.WEXITSTATUS(status))
`;

describe('a closed terminal', () => {
  it('cancels the run and exits 130, where Node 20 aborted at exit on the hung-up terminal', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const result = await execa('python3', ['-c', HANG_UP, 'started-h1', 'node', BIN, 'apply', 'hang'], {
      cwd: dir,
      reject: false,
      env: { NO_COLOR: '1', CI: undefined, GITHUB_ACTIONS: undefined },
      extendEnv: true,
      timeout: 120_000,
    });
    expect(result.stdout, String(result.stderr)).toBe('exit 130');
    expect(statuses(dir, 'r1').run).toBe('CANCELLED');
    expect(liveGroupMembers(Number(readFileSync(join(dir, 'pgid-h1'), 'utf8')))).toEqual([]);
  });
});

describe('a signal while the secrets are read', () => {
  it('SIGTERM during a slow secret command kills the run as soon as it exists: nothing runs, exit 130', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  token: { command: "touch asked; while [ ! -e answer ]; do sleep 0.05; done; echo s3cret-token-value" }
hosts: { h1: {} }
ops:
  use:
    run: test -n {{ secret.token }}; sleep 2; touch ran
`,
    });
    const apply = spawnCli(dir, ['apply', 'use', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'asked'));
    // Ignored before, the signal let the run start and finish (exit 0, `ran` written 2 s later).
    // Now the secret command is not waited for: it never gets its answer.
    apply.kill('SIGTERM');
    const result = await apply;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    const report = JSON.parse(String(result.stdout));
    expect(statuses(dir, report.runId).run).toBe('CANCELLED');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
  });

  it('Ctrl-C during a slow secret command cancels the run before anything starts: every command CANCELLED, exit 130', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  token: { command: "touch asked; while [ ! -e answer ]; do sleep 0.05; done; echo s3cret-token-value" }
hosts: { h1: {}, h2: {} }
ops:
  use:
    run: test -n {{ secret.token }}; touch ran-$NIXFLEET_HOST
`,
    });
    const apply = spawnCli(dir, ['apply', 'use', '--renderer', 'plain'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'asked'));
    // As a supervisor sends it, to nixfleet alone: nixfleet itself stops the secret command.
    apply.kill('SIGINT');
    const result = await apply;
    const stdout = String(result.stdout);
    expect(result.exitCode, stdout + String(result.stderr)).toBe(130);
    // Once, the first stage started anyway and both hosts ran it (SUCCESS), then the run said CANCELLED.
    expect(stdout).toContain('[h1] use CANCELLED (run cancelled)');
    expect(stdout).toContain('[h2] use CANCELLED (run cancelled)');
    expect(existsSync(join(dir, 'ran-h1')) || existsSync(join(dir, 'ran-h2'))).toBe(false);
    expect(String(result.stderr)).toContain('nixfleet: cancelling run r1');
  });
});

describe('a signal while a secret command never answers', () => {
  // CORE-010: the secret command (a vault waiting for a passphrase) is not waited for: it is
  // killed with its group, and the run is journaled cancelled with nothing started. It used to
  // ignore Ctrl-C, a second Ctrl-C, SIGHUP and SIGTERM until the 60 s secret timeout, then exit 2.
  it.each(['SIGINT', 'SIGTERM'] as const)(
    '%s ends apply at once: the secret command killed, exit 130',
    async (signal) => {
      const dir = makeTempDir({
        'fleet.yaml': `version: 1
secrets:
  token: { command: "echo $$ > secret.pid; exec sleep 100" }
hosts: { h1: {} }
ops:
  use:
    run: test -n {{ secret.token }}; touch ran
`,
      });
      // Well under the secret timeout (60 s): without the fix the CLI is still waiting when it ends.
      const apply = spawnCli(dir, ['apply', 'use', '--json'], { timeoutMs: 30_000 });
      const pid = await waitForPid(join(dir, 'secret.pid'));
      apply.kill(signal);
      const result = await apply;
      expect(result.timedOut, 'still waiting for the secret command').toBe(false);
      expect(result.exitCode, String(result.stderr)).toBe(130);
      const report = JSON.parse(String(result.stdout));
      expect(statuses(dir, report.runId)).toEqual({ run: 'CANCELLED', commands: { '0:h1': 'CANCELLED' } });
      expect(existsSync(join(dir, 'ran'))).toBe(false);
      expect(liveGroupMembers(pid)).toEqual([]);
    },
  );
});

describe('busy hosts and cancel from another process', () => {
  it('a second apply on a busy host exits 3 and starts nothing; `nixfleet cancel` from another process cancels the first', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const first = spawnCli(dir, ['apply', 'hang', '--on', 'h1', '--json'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    const second = await runCli(dir, ['apply', 'hang', '--on', 'h2,h1']);
    expect(second.exitCode, String(second.stderr)).toBe(3);
    expect(second.stderr).toMatch(/host\(s\) busy: h1 \(run r1\)/);
    expect(second.stderr).toContain('nixfleet cancel r1');
    // With --json, the refusal is the error object on stdout (CORE-002), exit 3 still.
    const secondJson = await runCli(dir, ['--json', 'apply', 'hang', '--on', 'h1']);
    expect(secondJson.exitCode, String(secondJson.stderr)).toBe(3);
    expect(JSON.parse(secondJson.stdout)).toEqual({
      error: {
        message: 'host(s) busy: h1 (run r1); nothing was started',
        hint: 'wait for run r1 to finish, or `nixfleet cancel r1`',
        exitCode: 3,
      },
    });
    // With --renderer json too: the reader waiting for the report gets the refusal instead.
    const secondRenderer = await runCli(dir, ['apply', 'hang', '--on', 'h1', '--renderer', 'json']);
    expect(secondRenderer.exitCode, String(secondRenderer.stderr)).toBe(3);
    expect(secondRenderer.stderr).toBe(
      'nixfleet: host(s) busy: h1 (run r1); nothing was started\n  hint: wait for run r1 to finish, or `nixfleet cancel r1`',
    );
    expect(JSON.parse(secondRenderer.stdout)).toEqual(JSON.parse(secondJson.stdout));
    const runs = await runCli(dir, ['runs', '--json']);
    expect(JSON.parse(runs.stdout).map((r: { id: string }) => r.id)).toEqual(['r1']);

    // The running command finishes (it has 30 s left), so kill it through its group once cancel is seen.
    const cancel = await runCli(dir, ['cancel', 'r1']);
    expect(cancel.exitCode, String(cancel.stderr)).toBe(0);
    expect(cancel.stdout).toContain('cancel requested for run r1');
    const pgid = Number(readFileSync(join(dir, 'pgid-h1'), 'utf8'));
    await new Promise((r) => setTimeout(r, 1000));
    process.kill(-pgid, 'SIGTERM');
    const result = await first;
    expect(result.exitCode, String(result.stderr)).toBe(130);
    expect(JSON.parse(String(result.stdout)).status).toBe('CANCELLED');
  });
});

describe('a killed runner', () => {
  it('SIGKILL leaves the run to be marked ORPHANED by the next nixfleet process', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const apply = spawnCli(dir, ['apply', 'hang', '--on', 'h1'], { timeoutMs: 240_000 });
    await waitForFile(join(dir, 'started-h1'));
    apply.kill('SIGKILL');
    await apply;
    const pgid = Number(readFileSync(join(dir, 'pgid-h1'), 'utf8'));
    // The lifeline (CORE-011) may have ended the command's group already.
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
    const runs = await runCli(dir, ['runs', '--json']);
    expect(JSON.parse(runs.stdout)[0]).toMatchObject({ id: 'r1', status: 'ORPHANED' });
    const show = await runCli(dir, ['show', 'r1']);
    expect(show.stdout).toMatch(/^h1\s+ORPHANED/m);
    // The host is free again.
    const again = await runCli(dir, ['apply', 'after', '--on', 'h1']);
    expect(again.exitCode, String(again.stderr)).toBe(0);
  });
});
