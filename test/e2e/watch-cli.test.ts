// The real `nixfleet watch` in a temp directory, driven by real saves (CORE-006).
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { isRunning } from '../support/processes.js';
import { pause, waitFor, writeBurst } from '../watch/fleet-edits.js';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function tempFleet(content: string): string {
  const dir = makeTempDir({ 'fleet.yaml': content }, 'nixfleet-e2e-watch-');
  dirs.push(dir);
  return dir;
}

/** Starts `nixfleet watch ...` and keeps what it printed so far readable while it runs. */
function startWatch(dir: string, args: string[]) {
  const proc = spawnCli(dir, ['watch', ...args], { timeoutMs: 110_000 });
  const seen = { stdout: '', stderr: '' };
  proc.stdout?.on('data', (chunk: Buffer) => {
    seen.stdout += chunk.toString();
  });
  proc.stderr?.on('data', (chunk: Buffer) => {
    seen.stderr += chunk.toString();
  });
  // The message is built on failure, so it shows what was printed by then.
  const until = async (what: string, stream: 'stdout' | 'stderr', pattern: RegExp, timeoutMs = 30_000) => {
    try {
      return await waitFor(what, () => pattern.test(seen[stream]), timeoutMs);
    } catch (error) {
      throw new Error(`${(error as Error).message}; ${stream} so far:\n${seen[stream].slice(-600)}`);
    }
  };
  return { proc, seen, until };
}

const count = (text: string, pattern: RegExp) => (text.match(new RegExp(pattern, 'g')) ?? []).length;

const plainFleet = (description: string) => `version: 1
hosts:
  web1: {}
ops:
  hello:
    description: ${description}
    run: echo hello
pipelines:
  all:
    ops: [hello]
`;

// `gate` waits until a file `go` exists; `say` appends the word it was defined with to said.txt.
const gatedFleet = (word: string) => `version: 1
hosts:
  web1: {}
ops:
  gate:
    run: i=0; while [ ! -e go ] && [ $i -lt 1500 ]; do i=$((i+1)); sleep 0.02; done
    timeout: 30s
  say:
    run: echo ${word} >> said.txt
pipelines:
  all:
    ops: [gate, say]
`;

// Each test starts the real CLI; on a loaded two-core machine that alone can take seconds.
describe('nixfleet watch (CORE-006)', { timeout: 120_000 }, () => {
  it('prints each reload and each broken save compactly, writes nothing, and exits 0 on SIGINT', async () => {
    const dir = tempFleet(plainFleet('first'));
    const { proc, seen, until } = startWatch(dir, []);
    await until('the start line', 'stdout', /watching fleet\.yaml .*v1/);
    expect(seen.stdout).toMatch(/watching fleet\.yaml \(1 file: \d+ hosts?, 1 op, 1 pipeline\) v1/);

    writeFileSync(join(dir, 'fleet.yaml'), plainFleet('second'));
    await until('the reload', 'stdout', /reloaded fleet\.yaml \(v2\): ~op hello/);

    writeFileSync(join(dir, 'fleet.yaml'), plainFleet('third').replace('[hello]', '[hello, nope]'));
    await until('the error', 'stderr', /kept v2/);
    expect(seen.stderr).toMatch(/^fleet\.yaml:10:\d+: pipelines\.all\.ops\[1\]: .*nope/m);

    writeFileSync(join(dir, 'fleet.yaml'), plainFleet('fourth'));
    await until('the reload after the fix', 'stdout', /reloaded fleet\.yaml \(v3\): ~op hello/);

    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(0);
    expect(seen.stdout).toMatch(/stopped watching\n$/);
    expect(existsSync(join(dir, '.nixfleet'))).toBe(false);
  });

  it('refuses a save nested 2,000 levels deep, as validate does, though its worker has the stack to read it', async () => {
    const dir = tempFleet(plainFleet('first'));
    const { proc, seen, until } = startWatch(dir, []);
    await until('the start line', 'stdout', /watching fleet\.yaml .*v1/);
    const deep = Array.from({ length: 2000 }, (_, i) => `${'  '.repeat(i + 1)}k${i}:`).join('\n');
    const deepFleet = `${plainFleet('deep')}x-deep:\n${deep}\n${'  '.repeat(2001)}v\n`;
    const validated = await runCli(dir, ['-f', '/dev/stdin', 'validate'], { input: deepFleet });
    expect(validated.exitCode).toBe(2);
    const error = validated.stderr.split('\n')[0]!.replace(/^[^:]*:/, 'fleet.yaml:');
    expect(error).toMatch(/^fleet\.yaml:\d+:\d+: invalid YAML: nested more than 100 levels deep/);
    writeFileSync(join(dir, 'fleet.yaml'), deepFleet);
    // Before, watch reloaded it (`reloaded fleet.yaml (v2): ~op hello`), and `watch --run` ran it.
    await until('the error', 'stderr', /kept v1/);
    expect(seen.stderr).toContain(error);
    expect(seen.stdout).not.toMatch(/reloaded/);
    proc.kill('SIGINT');
    expect((await proc).exitCode).toBe(0);
  });

  it('--run applies once at start and once per burst; saves during a run queue one re-run and the run keeps its definitions', async () => {
    const dir = tempFleet(gatedFleet('v1'));
    writeFileSync(join(dir, 'go'), '');
    const said = () =>
      existsSync(join(dir, 'said.txt')) ? readFileSync(join(dir, 'said.txt'), 'utf8').split('\n').filter(Boolean) : [];
    const { proc, seen, until } = startWatch(dir, ['--run', 'all']);
    await until('the first run', 'stdout', /run r1 COMPLETE/);

    // A burst of 20 writes while idle: one reload, one run.
    writeBurst(
      join(dir, 'fleet.yaml'),
      Array.from({ length: 20 }, (_, i) => gatedFleet(`burst-${i + 1}`)),
    );
    await until('the run after the burst', 'stdout', /run r2 COMPLETE/);
    await pause(150);
    writeFileSync(join(dir, 'fleet.yaml'), gatedFleet('barrier'));
    await until('the run after the barrier save', 'stdout', /run r3 COMPLETE/);
    expect(said()).toEqual(['v1', 'burst-20', 'barrier']);
    expect(count(seen.stdout, /reloaded fleet\.yaml/)).toBe(2);

    // A run blocked at its gate; two saves during it queue exactly one re-run.
    rmSync(join(dir, 'go'));
    writeFileSync(join(dir, 'fleet.yaml'), gatedFleet('slow'));
    await until('the slow run at its gate', 'stdout', /run r4:[\s\S]*\[web1\] gate running/);
    writeFileSync(join(dir, 'fleet.yaml'), gatedFleet('during-1'));
    await until('the first save during the run', 'stdout', /saved during run r4: one re-run queued/);
    writeFileSync(join(dir, 'fleet.yaml'), gatedFleet('during-2'));
    await until('the second save during the run', 'stdout', /reloaded fleet\.yaml \(v6\)/);
    writeFileSync(join(dir, 'go'), '');
    await until('the queued run', 'stdout', /run r5 COMPLETE/);

    proc.kill('SIGINT');
    const result = await proc;
    expect(result.exitCode).toBe(0);
    expect(said()).toEqual(['v1', 'burst-20', 'barrier', 'slow', 'during-2']);
    expect(count(seen.stdout, /one re-run queued/)).toBe(1);
    expect(seen.stdout).not.toMatch(/run r6/);
    expect(seen.stdout).toMatch(/applying all on web1 \(registry v6\)/);
  });

  it('SIGINT during a run cancels it and exits 130', async () => {
    const dir = tempFleet(gatedFleet('never'));
    const { proc, seen, until } = startWatch(dir, ['--run', 'all']);
    await until('the run at its gate', 'stdout', /\[web1\] gate running/);

    proc.kill('SIGINT');
    await until('the cancel notice', 'stdout', /cancelling run r1/);
    // Running commands finish on the first Ctrl-C (CORE-002): let the gate through.
    writeFileSync(join(dir, 'go'), '');
    const result = await proc;

    expect(result.exitCode).toBe(130);
    expect(seen.stdout).toMatch(/run r1 CANCELLED/);
    expect(existsSync(join(dir, 'said.txt'))).toBe(false);
  });

  it('with --json, the cancel notice names the run it cancels', async () => {
    const dir = tempFleet(gatedFleet('never'));
    const { proc, seen, until } = startWatch(dir, ['--run', 'all', '--json']);
    await until('the run started', 'stdout', /"type":"run_started"/);
    proc.kill('SIGINT');
    await until('the cancel notice', 'stdout', /"type":"cancelling"/);
    writeFileSync(join(dir, 'go'), '');
    const result = await proc;
    expect(result.exitCode).toBe(130);
    const lines = seen.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string });
    expect(lines.find((line) => line.type === 'cancelling')).toEqual({ type: 'cancelling', runId: 'r1' });
  });

  it.each([
    ['--json', true],
    ['text', false],
  ] as const)(
    'the journal failing during a run ends watch with its error and exit 1 (%s); with --json it is the last line, {"type":"error",…}',
    async (_name, json) => {
      const dir = tempFleet(`version: 1
hosts:
  web1: {}
ops:
  hold:
    run: echo $$ > hold.pid; sleep 30; touch finished
`);
      const { proc, seen } = startWatch(dir, ['--run', 'hold', ...(json ? ['--json'] : [])]);
      await waitFor('the op to run', () => existsSync(join(dir, 'hold.pid')), 30_000);
      // The journal replaced under the running process: it may record nothing more (CORE-003).
      rmSync(join(dir, '.nixfleet', 'nixfleet.db-wal'));
      const result = await proc;

      const replaced = /nixfleet\.db-wal was deleted while nixfleet had the journal open/;
      // Before, the rejected run was left unhandled: a stack trace, and the lines just stopped.
      expect(seen.stderr).not.toMatch(/internal error|\n\s+at /);
      expect(seen.stderr).toMatch(/^nixfleet: run r1 stopped and its running commands were killed$/m);
      expect(seen.stderr).toMatch(new RegExp(`^nixfleet: .*${replaced.source}.*\n {2}hint: \\S`, 'm'));
      expect(result.exitCode).toBe(1);
      // Killed, not waited for (CORE-002).
      expect(isRunning(Number(readFileSync(join(dir, 'hold.pid'), 'utf8')))).toBe(false);
      if (!json) return;
      const lines = seen.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as Record<string, unknown>);
      expect(lines.map((line) => line.type)).toEqual(['watching', 'run_started', 'error']);
      const last = lines.at(-1)!;
      expect(Object.keys(last)).toEqual(['type', 'message', 'hint', 'exitCode']);
      expect(last).toMatchObject({ exitCode: 1, hint: expect.stringMatching(/\S/) });
      expect(last.message).toMatch(replaced);
      // The words stderr shows.
      expect(seen.stderr).toContain(`nixfleet: ${last.message}\n  hint: ${last.hint}\n`);
    },
  );

  it('SIGINT while a run reads its secrets: the run starts cancelled, nothing runs, exit 130', async () => {
    const dir = tempFleet(`version: 1
secrets:
  token: { command: "touch asked; while [ ! -e answer ]; do sleep 0.05; done; echo s3cret-token-value" }
hosts: { web1: {}, web2: {} }
ops:
  use:
    run: test -n {{ secret.token }}; touch ran-$NIXFLEET_HOST
pipelines:
  all: { ops: [use] }
`);
    const { proc, seen } = startWatch(dir, ['--run', 'all']);
    await waitFor('the secret command', () => existsSync(join(dir, 'asked')), 30_000);
    // To nixfleet alone, as a supervisor sends it: nixfleet itself stops the secret command, which
    // never gets its answer (CORE-010).
    proc.kill('SIGINT');
    const result = await proc;

    // Before, the run started anyway: both hosts ran `use` (SUCCESS), the run read CANCELLED, exit 0.
    expect(result.exitCode, seen.stdout + seen.stderr).toBe(130);
    expect(seen.stdout).toContain('cancelling run r1');
    expect(seen.stdout).toContain('[web1] use CANCELLED (run cancelled)');
    expect(seen.stdout).toContain('[web2] use CANCELLED (run cancelled)');
    expect(seen.stdout).toMatch(/run r1 CANCELLED/);
    expect(existsSync(join(dir, 'ran-web1')) || existsSync(join(dir, 'ran-web2'))).toBe(false);
  });

  it('--run takes the rollout flags: the canary first, alone, then batches of one', async () => {
    const dir = tempFleet(`version: 1
hosts: { web1: {}, web2: {}, web3: {} }
ops:
  hello:
    run: echo "$NIXFLEET_HOST" >> order.txt
pipelines:
  all: { ops: [hello] }
`);
    const { proc, until } = startWatch(dir, ['--run', 'all', '--canary', 'web3', '--batch', '1']);
    await until('the run to end', 'stdout', /run r1 COMPLETE/);
    proc.kill('SIGINT');
    expect((await proc).exitCode).toBe(0);
    expect(readFileSync(join(dir, 'order.txt'), 'utf8').trim().split('\n')).toEqual(['web3', 'web1', 'web2']);
    // A canary count of every host is capped, as for `apply`, and said (CORE-008).
    const capped = startWatch(dir, ['--run', 'all', '--canary', '5']);
    await capped.until('the run to end', 'stdout', /run r2 COMPLETE/);
    capped.proc.kill('SIGINT');
    const seen = await capped.proc;
    expect(seen.exitCode).toBe(0);
    expect(String(seen.stdout)).toMatch(
      /^canary 5 capped at 2 of 3 hosts, so at least one host waits for the canary$/m,
    );
    expect(String(seen.stdout)).toMatch(/^canary: web1, web2$/m);
    expect(String(seen.stdout)).toMatch(/^batch 1\/1: web3$/m);
    // With --json the run's own line says it: the canary it got, the count asked, the words.
    // Before, the JSON lines said nothing of the cut.
    const json = startWatch(dir, ['--run', 'all', '--canary', '5', '--json']);
    await json.until('the run to end', 'stdout', /"type":"run_finished"/);
    json.proc.kill('SIGINT');
    const jsonSeen = await json.proc;
    expect(jsonSeen.exitCode).toBe(0);
    const lines = String(jsonSeen.stdout)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines.map((line) => line.type)).toEqual(['watching', 'run_started', 'run_finished', 'stopped']);
    expect(lines[1]).toEqual({
      type: 'run_started',
      runId: 'r3',
      target: 'all',
      version: 1,
      hosts: ['web1', 'web2', 'web3'],
      canary: ['web1', 'web2'],
      canaryAsked: 5,
      notice: 'canary 5 capped at 2 of 3 hosts, so at least one host waits for the canary',
    });
    // Nothing cut, nothing said.
    const uncut = startWatch(dir, ['--run', 'all', '--canary', '2', '--json']);
    await uncut.until('the run to end', 'stdout', /"type":"run_finished"/);
    uncut.proc.kill('SIGINT');
    expect((await uncut.proc).exitCode).toBe(0);
    const started = String(uncut.seen.stdout)
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .find((line) => line.type === 'run_started');
    expect(Object.keys(started ?? {})).toEqual(['type', 'runId', 'target', 'version', 'hosts']);
    const bad = await runCli(dir, ['watch', '--run', 'all', '--batch', '0']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('--batch must be a whole number of at least 1');
    const alone = await runCli(dir, ['watch', '--canary', 'web3']);
    expect(alone.exitCode).toBe(2);
    expect(alone.stderr).toMatch(/--canary only applies to runs: it needs --run TARGET/);
  });

  it('refuses to start without a fleet file (exit 2)', async () => {
    const dir = makeTempDir({}, 'nixfleet-e2e-watch-');
    dirs.push(dir);
    const result = await runCli(dir, ['watch']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/no fleet file at fleet\.yaml/);
    expect(result.stderr).toMatch(/nixfleet init/);
  });

  it('refuses --on without --run (exit 2)', async () => {
    const dir = tempFleet(plainFleet('first'));
    const result = await runCli(dir, ['watch', '--on', 'web1']);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/--on only applies to runs: it needs --run TARGET/);
  });
});
