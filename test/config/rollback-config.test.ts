// `rollback:` in the fleet file (see CORE-009): both forms compile with their defaults, and each
// mistake is one located error that says how to fix it.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadRegistry } from '../../src/config/load.js';
import { ConfigErrors, formatConfigError } from '../../src/errors/config-error.js';
import { makeTempDir } from '../support/cli.js';

async function load(ops: string) {
  const dir = makeTempDir();
  const file = join(dir, 'fleet.yaml');
  writeFileSync(file, `version: 1\nhosts:\n  a: {}\nops:\n${ops}`);
  return loadRegistry(file);
}

async function errorsOf(ops: string): Promise<string[]> {
  try {
    await load(ops);
  } catch (error) {
    if (error instanceof ConfigErrors)
      return error.errors.map((e) => formatConfigError(e).replace(/^.*?fleet\.yaml:/, ''));
    throw error;
  }
  return [];
}

describe('rollback in the fleet file', () => {
  it('a string is the command; the long form sets a timeout and an armed delay; the timeout defaults to the op’s', async () => {
    const registry = await load(`  short:
    run: "true"
    timeout: 90
    rollback: echo undo
  long:
    run: "true"
    rollback:
      run: echo undo {{ host.name }}
      timeout: 5m
      armed: 2m
`);
    expect(registry.ops.get('short')!.rollback).toEqual({ run: 'echo undo', timeoutMs: 90_000 });
    expect(registry.ops.get('long')!.rollback).toEqual({
      run: 'echo undo {{ host.name }}',
      timeoutMs: 300_000,
      armedMs: 120_000,
    });
  });

  it('mistakes are located errors with a fix', async () => {
    expect(
      await errorsOf(`  one:
    run: "true"
    rollback: {}
  two:
    run: "true"
    rollback: { run: x, armed: 2x, timout: 3s }
  three:
    run: "true"
    rollback: 5
`),
    ).toEqual([
      '7:5: ops.one.rollback: missing required property `run`',
      '10:32: ops.two.rollback.armed: `2x` is not a duration (use 500ms, 30s, 2m, 1h or a number of seconds)',
      '10:36: ops.two.rollback.timout: unknown property `timout` (did you mean `timeout`?)',
      '13:15: ops.three.rollback: must be a string or a mapping, not `5`',
    ]);
  });

  it('its placeholders are checked like run’s, at the rollback’s own position', async () => {
    expect(
      await errorsOf(`  four:
    run: "true"
    rollback: echo {{ host.vars.nope }}
  five:
    run: "true"
    rollback:
      run: echo {{ host.nme }}
`),
    ).toEqual([
      '7:20: ops.four.rollback: unknown template name `host.vars.nope`: no host defines `vars.nope` (define `vars.nope` on the hosts this op runs on)',
      '11:17: ops.five.rollback.run: unknown template name `host.nme` (did you mean `host.name`?)',
    ]);
  });
});
