// The GitHub Actions example must work as copied (see CORE-002, CI output): it installs the file
// `npm pack` makes (nixfleet is not on the npm registry), may publish a check run, and uploads
// the hidden `.nixfleet/` journal.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { ROOT } from '../support/cli.js';

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  with?: Record<string, unknown>;
}

const workflow = parse(readFileSync(join(ROOT, 'examples/ci/github-actions.yml'), 'utf8')) as {
  env: Record<string, string>;
  permissions: Record<string, string>;
  jobs: { apply: { steps: Step[] } };
};
const steps = workflow.jobs.apply.steps;

describe('the GitHub Actions example', () => {
  it('installs the package file that `npm pack` makes, never a registry name', () => {
    // --ignore-scripts: `npm pack` runs `prepare` (the build) otherwise, which would rewrite dist/
    // under every other test that starts the CLI meanwhile; `npm test` built it already.
    const args = ['pack', '--dry-run', '--json', '--ignore-scripts'];
    const pack = JSON.parse(execFileSync('npm', args, { cwd: ROOT, encoding: 'utf8' })) as {
      filename: string;
      files: { path: string }[];
    }[];
    expect(workflow.env.NIXFLEET_PACKAGE).toBe(`./vendor/${pack[0]!.filename}`);
    const files = pack[0]!.files.map((f) => f.path);
    for (const needed of ['bin/nixfleet.js', 'dist/cli/main.js', 'schemas/fleet.schema.json']) {
      expect(files).toContain(needed);
    }
    const install = steps.find((s) => s.name === 'Install nixfleet')!;
    expect(install.run).toContain('npm install --no-save "$NIXFLEET_PACKAGE"');
    expect(steps.map((s) => s.run ?? '').join('\n')).not.toMatch(/npm install[^\n]* nixfleet\s*$/m);
  }, 60_000);

  it('may publish the report as a check run and uploads the hidden journal', () => {
    expect(workflow.permissions.checks).toBe('write');
    const upload = steps.find((s) => s.uses?.startsWith('actions/upload-artifact'))!;
    expect(upload.with?.['include-hidden-files']).toBe(true);
    expect(String(upload.with?.path)).toContain('.nixfleet/');
  });
});
