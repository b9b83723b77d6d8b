// `nixfleet prune` as a user runs it (see CORE-003): the real CLI on a
// real data directory whose journal holds runs finished long ago.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteDriver } from '../../src/store/database.js';
import { openJournal } from '../../src/store/journal.js';
import { DAY_MS } from '../../src/store/retention.js';
import { makeTempDir, runCli } from '../support/cli.js';

/** A data directory with one run that finished `ageDays` ago, with its output file. */
async function journalWithRunFinished(ageDays: number) {
  const cwd = makeTempDir();
  const dataDir = join(cwd, '.nixfleet');
  const journal = openJournal(dataDir, { now: () => Date.now() - ageDays * DAY_MS });
  const { run, commands } = journal.createRun({
    name: 'pull',
    targetKind: 'op',
    hosts: ['web1'],
    stages: ['pull'],
    commands: [{ stage: 0, hostId: 'web1', op: 'pull' }],
    registryHash: 'sha256:e2e',
    actor: 'cli',
  });
  const id = commands[0]!.id;
  journal.transitionCommand(id, 'VALIDATING');
  journal.transitionCommand(id, 'EXECUTING');
  const sink = journal.openOutput(id);
  sink.write('output\n');
  await sink.close();
  journal.transitionCommand(id, 'SUCCESS', { exitCode: 0 });
  journal.finishRun(run.id, 'COMPLETE');
  const outputFile = journal.getCommand(id)!.outputFile!;
  journal.close();
  return { cwd, dataDir, outputFile };
}

describe('nixfleet prune', () => {
  it('removes runs past 30 days with their commands and output files', async () => {
    const { cwd, outputFile } = await journalWithRunFinished(31);
    const result = await runCli(cwd, ['prune']);
    expect(result.stderr).toBe('');
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^pruned 1 run\(s\), 1 command\(s\), 1 output file\(s\)/);
    expect(existsSync(outputFile)).toBe(false);
  });

  it('never reads or removes a file outside logs/ that a hand-edited row names', async () => {
    const { cwd, dataDir } = await journalWithRunFinished(31);
    // The row now names a file beside the data directory, as `../` would reach /etc/passwd.
    const victim = join(cwd, 'precious.txt');
    writeFileSync(victim, 'keep me\n');
    // The project's driver: the addon of the Node that runs the tests (CORE-003, "The SQLite driver").
    const db = new SqliteDriver(join(dataDir, 'nixfleet.db'));
    db.exec("UPDATE commands SET output_file = '../precious.txt'");
    db.close();
    // `logs` says that the output is not stored, as for a file retention removed (it printed
    // nothing and exited 0), in its text and in its JSON; it still reads nothing there.
    const outside =
      "(output of c1 is not stored: the journal names ../precious.txt, outside the data directory's logs/, and nixfleet reads no file there)";
    const logs = await runCli(cwd, ['logs', 'r1']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toBe(`==> c1 [web1] pull SUCCESS <==\n${outside}`);
    const one = await runCli(cwd, ['logs', 'c1']);
    expect(one.exitCode, one.stderr).toBe(0);
    expect(one.stdout).toBe(outside);
    const json = await runCli(cwd, ['logs', 'r1', '--json']);
    expect(JSON.parse(json.stdout)).toEqual([expect.objectContaining({ commandId: 'c1', output: `${outside}\n` })]);
    const result = await runCli(cwd, ['prune']);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^pruned 1 run\(s\), 1 command\(s\), 0 output file\(s\)/);
    expect(readFileSync(victim, 'utf8')).toBe('keep me\n');
  });

  it('logs of an output file that retention (or anyone) removed says it is no longer stored', async () => {
    const { cwd, outputFile } = await journalWithRunFinished(3);
    rmSync(outputFile);
    const logs = await runCli(cwd, ['logs', 'c1']);
    expect(logs.exitCode, logs.stderr).toBe(0);
    expect(logs.stdout).toBe('(output of c1 is no longer stored)');
  });

  it('--older-than overrides the 30 days, and --json prints the counts', async () => {
    const { cwd, dataDir, outputFile } = await journalWithRunFinished(3);
    const kept = await runCli(cwd, ['prune', '--json']);
    expect(JSON.parse(kept.stdout)).toMatchObject({ dataDir, pipelines: 0, commands: 0 });
    expect(existsSync(outputFile)).toBe(true);
    const pruned = await runCli(cwd, ['prune', '--older-than', '2d', '--json', '--data-dir', dataDir]);
    expect(pruned.exitCode).toBe(0);
    expect(JSON.parse(pruned.stdout)).toMatchObject({ pipelines: 1, commands: 1, outputFiles: 1 });
  }, 90_000);

  it('NIXFLEET_CMD_RETENTION_DAYS shortens retention', async () => {
    const { cwd } = await journalWithRunFinished(3);
    const result = await runCli(cwd, ['prune'], { env: { NIXFLEET_CMD_RETENTION_DAYS: '1' } });
    expect(result.stdout).toMatch(/^pruned 1 run\(s\)/);
  });

  it('a bad age or env value is a usage error (exit 2) with a hint, never a stack trace', async () => {
    const { cwd } = await journalWithRunFinished(40);
    const badFlag = await runCli(cwd, ['prune', '--older-than', 'a-month']);
    expect(badFlag.exitCode).toBe(2);
    expect(badFlag.stderr).toMatch(/--older-than a-month: not an age\n {2}hint: .*30d/);
    const badEnv = await runCli(cwd, ['prune'], { env: { NIXFLEET_LOG_RETENTION_DAYS: '-1' } });
    expect(badEnv.exitCode).toBe(2);
    // Refused, so no "using the default": prune never falls back.
    expect(badEnv.stderr.split('\n')[0]).toBe(
      'nixfleet: NIXFLEET_LOG_RETENTION_DAYS=-1 is not a number of days (>= 0)',
    );
    expect(`${badFlag.stderr}${badEnv.stderr}`).not.toMatch(/\s+at /);
    // Nothing was pruned by the refused calls.
    expect((await runCli(cwd, ['prune'])).stdout).toMatch(/^pruned 1 run\(s\)/);
  }, 120_000);

  it('does not create a data directory that never held a journal', async () => {
    const cwd = makeTempDir();
    const result = await runCli(cwd, ['prune']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^no journal in /);
    expect(existsSync(join(cwd, '.nixfleet'))).toBe(false);
  });
});
