// CORE-002, hints: a command that nixfleet suggests (`next:`, `plan`'s apply, `init`'s next steps,
// an error's hint) works when pasted into the same shell. It repeats the -f and --data-dir that
// reached the fleet file and the journal, and `plan`'s apply repeats what was planned. Each
// suggestion is run here as printed, through `sh -c` and a `nixfleet` on PATH.
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it, vi } from 'vitest';
import { BIN, makeTempDir, runCli } from '../support/cli.js';

vi.setConfig({ testTimeout: 120_000 });

const FLEET = `version: 1
settings: { defaultPipeline: deploy }
hosts: { h1: {}, h2: {}, h3: {} }
ops:
  build: { run: 'echo built on $NIXFLEET_HOST', retryable: true }
  check: { run: 'echo checking $NIXFLEET_HOST; test "$NIXFLEET_HOST" != h2', retryable: true }
pipelines:
  deploy: { ops: [build, check] }
`;

/** A directory with the fleet in `deploy/`, and a PATH whose `nixfleet` is this checkout's. */
function workspace(): { dir: string; env: Record<string, string> } {
  const dir = makeTempDir({ 'deploy/fleet.yaml': FLEET, 'bin/.keep': '' });
  const shim = join(dir, 'bin', 'nixfleet');
  writeFileSync(shim, `#!/bin/sh\nexec node ${BIN} "$@"\n`);
  chmodSync(shim, 0o755);
  return { dir, env: { PATH: `${join(dir, 'bin')}:${process.env.PATH}` } };
}

/** Runs `line` as a user pasting it would: one shell command line, in `dir`. */
async function paste(dir: string, env: Record<string, string>, line: string) {
  const result = await execa('sh', ['-c', line], {
    cwd: dir,
    reject: false,
    env: { CI: 'true', NO_COLOR: '1', ...env },
    timeout: 60_000,
  });
  return { exitCode: result.exitCode ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** The commands of the `next:` block: each row's command, up to its two-space gap. */
function nextCommands(stdout: string): string[] {
  const block = stdout.slice(stdout.indexOf('\nnext: ') + 1).split('\n');
  return block
    .filter((line) => /^(next:| {5}) nixfleet /.test(line))
    .map((line) => line.slice(6).split(/ {2,}/)[0] ?? '');
}

/** The first command in backquotes of `text` that starts with `nixfleet `. */
function quotedCommand(text: string, verb: string): string {
  const found = [...text.matchAll(/`(nixfleet [^`]*)`/g)].map((m) => m[1] ?? '').find((c) => c.includes(` ${verb}`));
  if (found === undefined) throw new Error(`no \`nixfleet … ${verb}\` in:\n${text}`);
  return found;
}

describe('suggested commands reach the same fleet file and journal', () => {
  it('after `-f deploy/fleet.yaml apply`, every `next:` command works as printed', async () => {
    const { dir, env } = workspace();
    const run = await runCli(dir, ['-f', 'deploy/fleet.yaml', 'apply'], { env });
    expect(run.exitCode, run.stderr).toBe(1);
    const commands = nextCommands(run.stdout);
    expect(commands).toEqual([
      'nixfleet -f deploy/fleet.yaml show r1',
      'nixfleet -f deploy/fleet.yaml logs r1 --host h2',
      'nixfleet -f deploy/fleet.yaml retry r1',
    ]);
    const [show, logs, retry] = await Promise.all(commands.map((command) => paste(dir, env, command)));
    expect(show?.exitCode, show?.stderr).toBe(0);
    expect(show?.stdout).toContain('run r1: pipeline deploy');
    expect(logs?.exitCode, logs?.stderr).toBe(0);
    expect(logs?.stdout).toContain('checking h2');
    // The retry ran h2 alone (r2), which still fails.
    expect(retry?.exitCode, retry?.stderr).toBe(1);
    expect(retry?.stdout).toContain('run r2 FAILED: 0/1 host(s) completed');
  });

  it('the retry of an op that is not retryable is suggested with --force, which `retry` alone refuses', async () => {
    const { dir, env } = workspace();
    writeFileSync(join(dir, 'deploy/fleet.yaml'), FLEET.replace("!= h2', retryable: true }", "!= h2' }"));
    const run = await runCli(dir, ['-f', 'deploy/fleet.yaml', 'apply'], { env });
    expect(run.exitCode, run.stderr).toBe(1);
    expect(run.stdout).toMatch(/ {2}rerun h2 from where it stopped; check is not marked retryable$/m);
    const retry = nextCommands(run.stdout)[2];
    expect(retry).toBe('nixfleet -f deploy/fleet.yaml retry r1 --force');
    const refused = await paste(dir, env, 'nixfleet -f deploy/fleet.yaml retry r1');
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain('not marked retryable would run again: check');
    const retried = await paste(dir, env, retry ?? '');
    expect(retried.exitCode, retried.stderr).toBe(1);
    expect(retried.stdout).toContain('run r2 FAILED: 0/1 host(s) completed');
  });

  it('a --data-dir with a space in it is repeated quoted, and the commands find the journal', async () => {
    const { dir, env } = workspace();
    const run = await runCli(dir, ['-f', 'deploy/fleet.yaml', '--data-dir', 'my journal', 'apply'], { env });
    expect(run.exitCode, run.stderr).toBe(1);
    const [show] = nextCommands(run.stdout);
    expect(show).toBe("nixfleet -f deploy/fleet.yaml --data-dir 'my journal' show r1");
    const shown = await paste(dir, env, show ?? '');
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('run r1: pipeline deploy');
  });

  it('a --data-dir that starts with `-` is repeated joined to its flag, where it cannot read as one', async () => {
    const { dir, env } = workspace();
    const run = await runCli(dir, ['-f', 'deploy/fleet.yaml', '--data-dir=-journal', 'apply'], { env });
    expect(run.exitCode, run.stderr).toBe(1);
    const [show] = nextCommands(run.stdout);
    expect(show).toBe('nixfleet -f deploy/fleet.yaml --data-dir=-journal show r1');
    const shown = await paste(dir, env, show ?? '');
    expect(shown.exitCode, shown.stderr).toBe(0);
  });

  it('when only a controller op failed, `next:` shows its output with `--host @controller`', async () => {
    const { dir, env } = workspace();
    writeFileSync(
      join(dir, 'deploy/fleet.yaml'),
      FLEET.replace('ops:\n', 'ops:\n  announce: { runsOn: controller, run: echo announcing; exit 2 }\n').replace(
        'pipelines:\n',
        'pipelines:\n  solo: { ops: [announce, build] }\n',
      ),
    );
    const run = await runCli(dir, ['-f', 'deploy/fleet.yaml', 'apply', 'solo'], { env });
    expect(run.exitCode, run.stderr).toBe(1);
    const logs = nextCommands(run.stdout)[1];
    expect(logs).toBe('nixfleet -f deploy/fleet.yaml logs r1 --host @controller');
    const shown = await paste(dir, env, logs ?? '');
    expect(shown.exitCode, shown.stderr).toBe(0);
    expect(shown.stdout).toContain('announcing');
    // Asked by the name the recap's row gives it, `logs` says how it is spelt there.
    const asRecap = await runCli(dir, ['-f', 'deploy/fleet.yaml', 'logs', 'r1', '--host', 'controller'], { env });
    expect(asRecap.exitCode).toBe(2);
    expect(asRecap.stderr).toContain('hint: its hosts: h1, h2, h3; its controller ops: @controller');
  });

  it("`plan`'s apply runs what was planned: the same hosts, rollout and rollbacks", async () => {
    const { dir, env } = workspace();
    const plan = await runCli(
      dir,
      ['-f', 'deploy/fleet.yaml', 'plan', '--on', 'h1,h3', '--batch', '1', '--no-rollback'],
      { env },
    );
    expect(plan.exitCode, plan.stderr).toBe(0);
    const apply = quotedCommand(plan.stdout, 'apply');
    expect(apply).toBe('nixfleet -f deploy/fleet.yaml apply deploy --on h1,h3 --batch 1 --no-rollback');
    const applied = await paste(dir, env, `${apply} --json`);
    expect(applied.exitCode, applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout);
    expect(Object.keys(report.hosts)).toEqual(['h1', 'h3']);
    const runs = await runCli(dir, ['-f', 'deploy/fleet.yaml', 'runs', '--json'], { env });
    const [journaled] = JSON.parse(runs.stdout);
    expect(journaled.rollout).toMatchObject({ strategy: 'batches', batches: 2 });
  });

  it('`init DIR` suggests commands that read the file it wrote', async () => {
    const { dir, env } = workspace();
    const init = await runCli(dir, ['init', 'staging'], { env });
    expect(init.exitCode, init.stderr).toBe(0);
    const validate = quotedCommand(init.stdout, 'validate');
    expect(validate).toBe('nixfleet -f staging/fleet.yaml validate');
    const validated = await paste(dir, env, validate);
    expect(validated.exitCode, validated.stderr).toBe(0);
    // Written here, the file is found without -f.
    const fresh = makeTempDir();
    const plain = await runCli(fresh, ['init'], { env });
    expect(quotedCommand(plain.stdout, 'validate')).toBe('nixfleet validate');
  });

  it("an error's hint repeats the flags: `show` of an unknown run points at the right `runs`", async () => {
    const { dir, env } = workspace();
    expect((await runCli(dir, ['-f', 'deploy/fleet.yaml', 'apply'], { env })).exitCode).toBe(1);
    const missing = await runCli(dir, ['-f', 'deploy/fleet.yaml', 'show', 'r9'], { env });
    expect(missing.exitCode).toBe(2);
    const runs = quotedCommand(missing.stderr, 'runs');
    expect(runs).toBe('nixfleet -f deploy/fleet.yaml runs');
    const listed = await paste(dir, env, runs);
    expect(listed.exitCode, listed.stderr).toBe(0);
    expect(listed.stdout).toContain('r1');
  });
});
