// `nixfleet apply` end to end: the stage barrier, the concurrency bound, prechecks, postchecks,
// retries, controller ops and templating, checked against the journal and files the commands wrote.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openJournal } from '../../src/store/journal.js';
import type { CommandRecord, Journal } from '../../src/store/types.js';
import { makeTempDir, runCli } from '../support/cli.js';

// Real CLI processes on a shared two-core machine: generous bounds, every wait still bounded.
vi.setConfig({ testTimeout: 120_000 });

const FLEET = `version: 1
settings: { concurrency: 10 }
hosts:
  h1: { vars: { weird: "it's $(touch pwned) \`touch pwned2\`; echo x | cat > pwned3 && exit 9" } }
  h2: { vars: { weird: plain } }
  h3: {}
  h4: {}
  h5: {}
  h6: {}
ops:
  # Uneven durations, so a missing barrier would let fast hosts start stage 2 early.
  slow-first:
    run: sleep 0.$((\${NIXFLEET_HOST#h} % 3 + 1))
  second:
    run: "true"
  # Counts how many commands hold a slot at once, with a directory per running command.
  slot:
    run: >-
      mkdir -p slots && mkdir slots/$NIXFLEET_HOST &&
      ls slots | wc -l >> counts.txt && sleep 1 && rmdir slots/$NIXFLEET_HOST
  literal:
    run: printf '%s\\n' {{ host.vars.weird }} > literal-$NIXFLEET_HOST.txt
  guarded:
    precheck: test -f allow-$NIXFLEET_HOST
    run: touch guarded-ran-$NIXFLEET_HOST
  verified:
    run: touch made-$NIXFLEET_HOST
    postcheck: test "$NIXFLEET_HOST" != h2
  flaky:
    run: echo try >> tries-$NIXFLEET_HOST; test "$(wc -l < tries-$NIXFLEET_HOST)" -ge 3
    retryable: true
    retries: 2
  build:
    runsOn: controller
    run: echo built >> controller.txt
  use:
    run: cat controller.txt > used-$NIXFLEET_HOST
pipelines:
  barrier: { ops: [slow-first, second] }
  release: { ops: [build, use], hosts: "h1,h2" }
`;

let dir: string;
let journal: Journal;
beforeAll(() => {
  dir = makeTempDir({ 'fleet.yaml': FLEET, 'allow-h1': '' });
  journal = openJournal(join(dir, '.nixfleet'));
});
afterAll(() => journal.close());

const runIdOf = (stdout: string) => /^run (r\d+)/m.exec(stdout)![1]!;
const commandsOf = (runId: string) => journal.listCommands({ runId });
const byHost = (commands: CommandRecord[], stage: number) =>
  Object.fromEntries(commands.filter((c) => c.stage === stage).map((c) => [c.hostId, c]));

describe('the stage barrier', () => {
  it('no stage-2 command starts before every stage-1 command ended', async () => {
    const result = await runCli(dir, ['apply', 'barrier']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const commands = commandsOf(runIdOf(result.stdout));
    const lastStage1End = Math.max(...commands.filter((c) => c.stage === 0).map((c) => c.finishedAt!));
    const firstStage2Start = Math.min(...commands.filter((c) => c.stage === 1).map((c) => c.startedAt!));
    expect(commands).toHaveLength(12);
    expect(firstStage2Start).toBeGreaterThanOrEqual(lastStage1End);
  });
});

describe('concurrency', () => {
  it('--concurrency 2 never runs more than two commands at once, and does run two', async () => {
    const result = await runCli(dir, ['apply', 'slot', '--concurrency', '2']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    const counts = readFileSync(join(dir, 'counts.txt'), 'utf8').trim().split('\n').map(Number);
    expect(counts).toHaveLength(6);
    expect(Math.max(...counts)).toBe(2);
  });
});

describe('templating', () => {
  it('a templated value full of shell metacharacters runs literally', async () => {
    const result = await runCli(dir, ['apply', 'literal', '--on', 'h1,h2']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(readFileSync(join(dir, 'literal-h1.txt'), 'utf8')).toBe(
      "it's $(touch pwned) `touch pwned2`; echo x | cat > pwned3 && exit 9\n",
    );
    expect(readFileSync(join(dir, 'literal-h2.txt'), 'utf8')).toBe('plain\n');
    for (const file of ['pwned', 'pwned2', 'pwned3']) expect(existsSync(join(dir, file))).toBe(false);
  });
});

describe('prechecks and postchecks', () => {
  it('a failing precheck BLOCKS the host and its op never runs', async () => {
    const result = await runCli(dir, ['apply', 'guarded', '--on', 'h1,h2']);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const hosts = byHost(commandsOf(runIdOf(result.stdout)), 0);
    expect(hosts.h1?.status).toBe('SUCCESS');
    expect(hosts.h2).toMatchObject({ status: 'BLOCKED', error: 'precheck failed (exit 1)' });
    expect(existsSync(join(dir, 'guarded-ran-h2'))).toBe(false);
  });

  it('prechecks blocking every host is exit 3 (nothing ran)', async () => {
    const result = await runCli(dir, ['apply', 'guarded', '--on', 'h3,h4']);
    expect(result.exitCode, String(result.stderr)).toBe(3);
    expect(result.stdout).toContain('[h3] guarded BLOCKED');
  });

  it('a postcheck failing after a good run is ERROR with the reason', async () => {
    const result = await runCli(dir, ['apply', 'verified', '--on', 'h1,h2']);
    expect(result.exitCode, String(result.stderr)).toBe(1);
    const hosts = byHost(commandsOf(runIdOf(result.stdout)), 0);
    expect(hosts.h2).toMatchObject({ status: 'ERROR', error: 'postcheck failed (exit 1)' });
    expect(existsSync(join(dir, 'made-h2'))).toBe(true);
    expect(hosts.h1?.status).toBe('SUCCESS');
  });
});

describe('automatic retries', () => {
  it('a retryable op with retries: 2 succeeds on its third attempt', async () => {
    const result = await runCli(dir, ['apply', 'flaky', '--on', 'h5']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    // Each retry line says why the attempt before it failed.
    expect(result.stdout).toContain('[h5] flaky failed, retrying (attempt 2): exit code 1\n');
    expect(result.stdout).toContain('[h5] flaky failed, retrying (attempt 3): exit code 1\n');
    const [command] = commandsOf(runIdOf(result.stdout));
    expect(command).toMatchObject({ status: 'SUCCESS', attempt: 3 });
    expect(readFileSync(join(dir, 'tries-h5'), 'utf8')).toBe('try\ntry\ntry\n');
  });
});

describe('controller ops', () => {
  it('a runsOn: controller op runs once per stage, before the hosts use its result', async () => {
    const result = await runCli(dir, ['apply', 'release']);
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(readFileSync(join(dir, 'controller.txt'), 'utf8')).toBe('built\n');
    expect(readFileSync(join(dir, 'used-h2'), 'utf8')).toBe('built\n');
    const commands = commandsOf(runIdOf(result.stdout));
    expect(commands.filter((c) => c.stage === 0).map((c) => c.hostId)).toEqual(['@controller']);
    expect(result.stdout).toContain('[@controller] build SUCCESS');
  });
});
