// CORE-010 and CORE-001: what a local command inherits from nixfleet's own environment. An `env:`
// secret's variable is in that environment whether or not the run uses the secret, so a command
// that prints its environment (`env`, a debug op, a tool's verbose mode) printed the value into the
// output file, the journal and the dashboard whenever no command of the run used the secret. And
// `$NIXFLEET_TOKEN`, the dashboard's token, is for nixfleet alone, like `$NIXFLEET_DATABASE_URL`.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { filesUnder } from './support/secret-fleet.js';

const VALUE = 'inherited-Secret-8c1f2e';
const DASHBOARD_TOKEN = 'dashboard-token-0123456789abcdef';

const FLEET = `version: 1
secrets:
  token: { env: NF_INHERITED_TOKEN }
hosts:
  h1: {}
ops:
  uses:
    run: echo using {{ secret.token }}
  dump:
    run: 'env | grep -E "^NF_INHERITED_TOKEN=" ; echo "dashboard=\${NIXFLEET_TOKEN-unset} kept=\${KEPT_FOR_COMMANDS-lost}"'
  on-controller:
    run: 'printf "controller=%s\\n" "$NF_INHERITED_TOKEN"; echo "dashboard=\${NIXFLEET_TOKEN-unset}"'
    runsOn: controller
pipelines:
  both: { ops: [dump, on-controller] }
`;

describe("an env secret's variable, inherited by commands that do not use the secret", () => {
  it('is redacted from their output everywhere, though no command of the run uses it', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const env = { NF_INHERITED_TOKEN: VALUE, KEPT_FOR_COMMANDS: 'yes' };
    const apply = await runCli(dir, ['apply', 'both', '--renderer', 'plain'], { env });
    expect(apply.exitCode, apply.stderr).toBe(0);
    const json = await runCli(dir, ['--json', 'apply', 'dump'], { env });
    expect(json.exitCode, json.stderr).toBe(0);
    const logs = await runCli(dir, ['logs', 'r1']);
    // The commands did get the variable (the environment is nixfleet's, CORE-001)...
    expect(logs.stdout).toContain('NF_INHERITED_TOKEN=***');
    expect(logs.stdout).toContain('controller=***');
    const texts = {
      apply: apply.stdout + apply.stderr,
      json: json.stdout + json.stderr,
      logs: logs.stdout,
      show: (await runCli(dir, ['--json', 'show', 'r1'])).stdout,
    };
    // ...and its value is nowhere nixfleet writes or shows.
    for (const [where, text] of Object.entries(texts)) expect(text, where).not.toContain(VALUE);
    for (const file of filesUnder(join(dir, '.nixfleet'))) {
      expect(readFileSync(file).includes(VALUE), file).toBe(false);
    }
  });

  it('is left alone when unset or too short to redact: neither refuses a run that does not use it', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const unset = await runCli(dir, ['apply', 'dump', '--renderer', 'plain']);
    expect(unset.exitCode, unset.stderr).toBe(0);
    const short = await runCli(dir, ['apply', 'dump', '--renderer', 'plain'], { env: { NF_INHERITED_TOKEN: 'abc' } });
    expect(short.exitCode, short.stderr).toBe(0);
    expect((await runCli(dir, ['logs', 'r2'])).stdout).toContain('NF_INHERITED_TOKEN=abc');
  });
});

describe("the dashboard's token", () => {
  it('is not inherited by local commands or controller ops; the rest of the environment is', async () => {
    const dir = makeTempDir({ 'fleet.yaml': FLEET });
    const env = { NIXFLEET_TOKEN: DASHBOARD_TOKEN, KEPT_FOR_COMMANDS: 'yes' };
    const apply = await runCli(dir, ['apply', 'both', '--renderer', 'plain'], { env });
    expect(apply.exitCode, apply.stderr).toBe(0);
    const logs = await runCli(dir, ['logs', 'r1']);
    expect(logs.stdout).toContain('dashboard=unset kept=yes');
    expect(logs.stdout.match(/dashboard=unset/g)).toHaveLength(2);
    expect(logs.stdout).not.toContain(DASHBOARD_TOKEN);
  });
});

describe("a secret command's failure", () => {
  it('quotes its last stderr line without the values of other secrets', async () => {
    // A secret command that needs another secret (a vault or sops key in the environment) may
    // name it in its error; the quoted line went to the terminal, `--json` and the dashboard.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
secrets:
  token: { env: NF_INHERITED_TOKEN }
  first: { command: "cat first.txt" }
  broken: { command: 'echo "login failed for $NF_INHERITED_TOKEN after $(cat first.txt)" >&2; exit 1' }
hosts:
  h1: {}
ops:
  both:
    run: echo {{ secret.first }} {{ secret.broken }}
`,
      'first.txt': 'first-value-1a2b3c\n',
    });
    const env = { NF_INHERITED_TOKEN: VALUE };
    const plain = await runCli(dir, ['apply', 'both'], { env });
    const json = await runCli(dir, ['--json', 'apply', 'both'], { env });
    for (const result of [plain, json]) {
      expect(result.exitCode).toBe(2);
      const text = result.stdout + result.stderr;
      expect(text).toContain('failed with exit code 1: login failed for *** after ***');
      expect(text).not.toContain(VALUE);
      expect(text).not.toContain('first-value-1a2b3c');
    }
  });
});
