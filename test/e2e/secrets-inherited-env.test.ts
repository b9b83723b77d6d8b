// CORE-010 and CORE-001: what a local command inherits from nixfleet's own environment. An `env:`
// secret's variable is in that environment whether or not the run uses the secret, so a command
// that prints its environment (`env`, a debug op, a tool's verbose mode) printed the value into the
// output file, the journal and the dashboard whenever no command of the run used the secret. And
// `$NIXFLEET_TOKEN`, the dashboard's token, is for nixfleet alone, like `$NIXFLEET_DATABASE_URL`.
import { describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';

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
