// nixfleet on Node 24 (see CORE-003, "The SQLite driver"). better-sqlite3 12's addon aborts a
// Node 24 process when the garbage collector frees one of its statements, so a run died mid-way or
// at its end; the journal now opens with better-sqlite3 13 wherever Node has Node-API 10. The real
// CLI under Node 24 (fetched by scripts/fetch-node.sh): a 300-command run and the commands
// that read it back, each exiting as it should with nothing on stderr.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, makeTempDir, ROOT } from '../support/cli.js';

const NODE_24 = join(ROOT, 'node_modules/.cache/nixfleet-test/node-24/bin/node');
const HOSTS = Array.from({ length: 150 }, (_, i) => `h${String(i).padStart(3, '0')}`);
const FLEET = `version: 1
settings: { concurrency: 20 }
hosts:
${HOSTS.map((h) => `  ${h}: {}`).join('\n')}
ops:
  prepare: { run: 'true' }
  switch: { run: 'echo switched {{ host.name }}' }
pipelines:
  deploy: { ops: [prepare, switch] }
`;

function onNode24(cwd: string, args: readonly string[]) {
  return execa(NODE_24, [BIN, ...args], { cwd, reject: false, env: { CI: 'true', NO_COLOR: '1' }, timeout: 120_000 });
}

describe.runIf(process.platform === 'linux' && ['x64', 'arm64'].includes(process.arch))('on Node 24', () => {
  it('runs and journals 300 commands and reads them back without the process aborting', async () => {
    expect(existsSync(NODE_24), `${NODE_24} is missing: scripts/fetch-node.sh 24 fetches it`).toBe(true);
    expect((await execa(NODE_24, ['--version'])).stdout).toMatch(/^v24\./);
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const applied = await onNode24(dir, ['apply', 'deploy', '--json']);
    expect(applied.stderr).toBe('');
    expect(applied.exitCode).toBe(0);
    expect(JSON.parse(applied.stdout).status).toBe('COMPLETE');
    for (const args of [['runs'], ['show', 'r1'], ['logs', 'r1', '--host', 'h149'], ['validate']]) {
      const result = await onNode24(dir, args);
      expect(result.stderr, args[0]).toBe('');
      expect(result.exitCode, args[0]).toBe(0);
    }
    expect((await onNode24(dir, ['logs', 'r1', '--host', 'h149'])).stdout).toContain('switched h149');
  }, 180_000);
});
