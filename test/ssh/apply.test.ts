// `nixfleet apply` over ssh, end to end (see CORE-007): the real CLI, a real sshd reached under
// several host entries, and hosts that cannot be reached failing alone with a clear reason.
import { chmodSync, copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SOCKET_PATH } from '../../src/engine/transports/ssh/control-socket.js';
import { makeTempDir, runCli } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;
let dir: string;
let workdir: string;
let deadPort: number;

async function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 1));
    });
  });
}

function fleet(): string {
  const host = (vars: Record<string, string>, extra: Record<string, unknown> = {}) =>
    JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user, vars, ...extra });
  return `version: 1
settings:
  concurrency: 5
  ssh:
    identityFile: ${JSON.stringify(sshd.clientKey)}
    connectTimeout: 5s
hosts:
  web1: ${host({ role: 'front end' })}
  web2: ${host({ role: `it's $HOME` })}
  db1: ${host({ role: 'db; touch pwned' })}
  dead: ${host({ role: 'x' }, { port: deadPort })}
  locked-out: ${host({ role: 'x' }, { identityFile: sshd.strangerKey })}
ops:
  info:
    run: printf '%s|%s|%s|%s\\n' "$NIXFLEET_HOST" "$NIXFLEET_OP" "$ROLE" "$(pwd)"
    env: { ROLE: "{{ host.vars.role }}" }
    cwd: ${JSON.stringify(workdir)}
  quoted:
    run: echo {{ host.vars.role }} > "role-$NIXFLEET_HOST"
    cwd: ${JSON.stringify(workdir)}
  fail-db:
    run: test "$NIXFLEET_HOST" != db1 || exit 4
  last:
    run: echo "done $NIXFLEET_HOST" >> ${JSON.stringify(join(workdir, 'done.txt'))}
  hang:
    run: echo "$$" > ${JSON.stringify(join(workdir, 'hang.pid'))}; exec sleep 60
    timeout: 8s
pipelines:
  do-all:
    ops: [info, quoted, fail-db, last]
`;
}

beforeAll(async () => {
  sshd = await startSshd();
  deadPort = await closedPort();
  dir = makeTempDir();
  workdir = join(dir, 'remote work dir');
  mkdirSync(workdir);
  writeFileSync(join(dir, 'fleet.yaml'), fleet());
});
afterAll(async () => {
  await sshd?.stop();
});

const env = () => ({ NIXFLEET_SSH_CONFIG: sshd.clientConfig });

interface ReportEntry {
  op: string;
  status: string;
  exitCode: number | null;
  error: string | null;
}

describe('nixfleet apply over ssh', () => {
  // Generous bounds: each case starts the real CLI, which opens real ssh connections.
  it('runs a pipeline over several ssh hosts; failures stay with their host', { timeout: 120_000 }, async () => {
    const before = sshd.acceptedLogins();
    const result = await runCli(dir, ['apply', 'do-all', '--json'], { env: env(), timeoutMs: 110_000 });
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as { status: string; hosts: Record<string, ReportEntry[]> };
    expect(report.status).toBe('PARTIAL');
    const statuses = (host: string) => report.hosts[host]!.map((e) => e.status);
    expect(statuses('web1')).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(statuses('web2')).toEqual(['SUCCESS', 'SUCCESS', 'SUCCESS', 'SUCCESS']);
    expect(statuses('db1')).toEqual(['SUCCESS', 'SUCCESS', 'ERROR', 'SKIPPED']);
    expect(report.hosts.db1![2]!.exitCode).toBe(4);
    expect(statuses('dead')).toEqual(['ERROR', 'SKIPPED', 'SKIPPED', 'SKIPPED']);
    expect(report.hosts.dead![0]!.error).toBe(`ssh: connection refused by 127.0.0.1:${deadPort}`);
    expect(statuses('locked-out')).toEqual(['ERROR', 'SKIPPED', 'SKIPPED', 'SKIPPED']);
    expect(report.hosts['locked-out']![0]!.error).toBe(`ssh: permission denied (publickey) for ${sshd.user}@127.0.0.1`);

    // One connection per reachable host for the whole four-stage pipeline (multiplexing).
    expect(sshd.acceptedLogins() - before).toBe(3);

    // Values with spaces, quotes, $ and ; arrived literally, both through env and templating.
    expect(readFileSync(join(workdir, 'role-web1'), 'utf8')).toBe('front end\n');
    expect(readFileSync(join(workdir, 'role-web2'), 'utf8')).toBe(`it's $HOME\n`);
    expect(readFileSync(join(workdir, 'role-db1'), 'utf8')).toBe('db; touch pwned\n');
    expect(existsSync(join(workdir, 'pwned'))).toBe(false);
    const done = readFileSync(join(workdir, 'done.txt'), 'utf8').trim().split('\n').sort();
    expect(done).toEqual(['done web1', 'done web2']);

    const runId = (JSON.parse(result.stdout) as { runId: string }).runId;
    const logs = await runCli(dir, ['logs', runId, '--host', 'web2'], { env: env() });
    expect(logs.exitCode).toBe(0);
    expect(logs.stdout).toContain(`web2|info|it's $HOME|${workdir}\n`);
  });

  it('a timed-out op is killed on the remote side and marked TIMEOUT', { timeout: 120_000 }, async () => {
    const result = await runCli(dir, ['apply', 'hang', '--on', 'web1', '--json'], { env: env(), timeoutMs: 110_000 });
    expect(result.exitCode).toBe(1);
    const report = JSON.parse(result.stdout) as { hosts: Record<string, ReportEntry[]> };
    expect(report.hosts.web1![0]!.status).toBe('TIMEOUT');
    const pid = Number(readFileSync(join(workdir, 'hang.pid'), 'utf8').trim());
    expect(pid).toBeGreaterThan(0);
    // Exited: at most a zombie its parent (the login shell, or an init that never reaps) has not
    // collected yet, which `kill -0` would still find (CORE-007, timeouts).
    expect(isRunning(pid)).toBe(false);
  });

  it('a --data-dir with spaces, % and quotes reaches every host (ControlPath escaped)', {
    timeout: 120_000,
  }, async () => {
    // Short enough that the control socket lives under the data directory itself (CORE-007).
    const dataDir = join(makeTempDir({}, 'nf-'), `my "fleet" 100%d`);
    expect(join(dataDir, 'ssh', 'ssh-XXXXXX', 'm').length).toBeLessThanOrEqual(MAX_SOCKET_PATH);
    const before = sshd.acceptedLogins();
    const result = await runCli(dir, ['apply', 'do-all', '--on', 'web1,web2', '--data-dir', dataDir, '--json'], {
      env: env(),
      timeoutMs: 110_000,
    });
    expect(result.stderr).toBe('');
    const report = JSON.parse(result.stdout) as { status: string; hosts: Record<string, ReportEntry[]> };
    expect(report.hosts.web1!.map((e) => e.error)).toEqual([null, null, null, null]);
    expect(report.status).toBe('COMPLETE');
    expect(result.exitCode).toBe(0);
    // Multiplexed as usual: one login per host for the four stages.
    expect(sshd.acceptedLogins() - before).toBe(2);
  });

  // CORE-007: ssh expands `%` tokens in `-i`; a key file whose path holds `%` is passed as `%%`.
  it('an identity file whose path holds `%` is used as named', { timeout: 120_000 }, async () => {
    const work = makeTempDir({}, 'nf-100%-');
    copyFileSync(sshd.clientKey, join(work, 'key 100%z'));
    chmodSync(join(work, 'key 100%z'), 0o600);
    const host = { transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user };
    writeFileSync(
      join(work, 'fleet.yaml'),
      `version: 1\nhosts:\n  h1: ${JSON.stringify({ ...host, identityFile: 'key 100%z' })}\nops:\n  hi:\n    run: echo hi\n`,
    );
    const result = await runCli(work, ['apply', 'hi', '--json'], { env: env(), timeoutMs: 110_000 });
    expect(result.exitCode, result.stdout + result.stderr).toBe(0);
  });
});
