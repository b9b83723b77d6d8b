// Editors (see CORE-005, editors): the real yaml-language-server, offline, reads each file's
// schema line. The examples (main and included files) validate clean, what `nixfleet init`
// writes resolves without a network, and a bad value gets the schema's friendly message.
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, ROOT, runCli } from '../support/cli.js';
import { startYamlLanguageServer, type YamlLanguageServer } from '../support/yaml-language-server.js';

let server: YamlLanguageServer;
beforeAll(async () => {
  server = await startYamlLanguageServer();
}, 60_000);
afterAll(async () => {
  await server?.close();
});

const messages = (diagnostics: { message: string }[]) => diagnostics.map((d) => d.message);

describe('the schema in an editor', { timeout: 120_000 }, () => {
  it('every pattern in the schema carries a friendly message', () => {
    const patterns: Record<string, unknown>[] = [];
    const walk = (node: unknown) => {
      if (node === null || typeof node !== 'object') return;
      if ('pattern' in node) patterns.push(node as Record<string, unknown>);
      for (const child of Object.values(node)) walk(child);
    };
    walk(JSON.parse(readFileSync(join(ROOT, 'schemas/fleet.schema.json'), 'utf8')));
    expect(patterns.length).toBeGreaterThanOrEqual(4);
    for (const p of patterns) expect(p.patternErrorMessage, String(p.pattern)).toMatch(/^not a .*: /);
  });

  it('the examples, including an included file, validate with no diagnostics', async () => {
    for (const file of [
      'examples/local-demo/fleet.yaml',
      'examples/local-demo/ops/checks.yaml',
      'examples/nixos-over-ssh/fleet.yaml',
    ]) {
      expect(messages(await server.diagnostics(join(ROOT, file))), file).toEqual([]);
    }
  });

  it('an included file checked against the main schema is wrong, against includedFile right', async () => {
    const dir = makeTempDir();
    const body = readFileSync(join(ROOT, 'examples/local-demo/ops/checks.yaml'), 'utf8')
      .split('\n')
      .slice(1)
      .join('\n');
    const schema = join(ROOT, 'schemas/fleet.schema.json');
    writeFileSync(join(dir, 'whole.yaml'), `# yaml-language-server: $schema=${schema}\n${body}`);
    expect(messages(await server.diagnostics(join(dir, 'whole.yaml'))).join('\n')).toMatch(/version/);
    writeFileSync(
      join(dir, 'settings.yaml'),
      `# yaml-language-server: $schema=${schema}#/$defs/includedFile\nsettings: {}\n${body}`,
    );
    expect(messages(await server.diagnostics(join(dir, 'settings.yaml'))).join('\n')).toMatch(/settings/);
  });

  it('what `nixfleet init` writes points at a schema that loads offline', async () => {
    const dir = makeTempDir();
    expect((await runCli(dir, ['init'])).exitCode).toBe(0);
    const text = readFileSync(join(dir, 'fleet.yaml'), 'utf8');
    const reference = /^# yaml-language-server: \$schema=(\S+)$/m.exec(text)![1]!;
    expect(reference).not.toMatch(/^https?:/);
    expect(readFileSync(join(dir, reference), 'utf8')).toBe(
      readFileSync(join(ROOT, 'schemas/fleet.schema.json'), 'utf8'),
    );
    expect(messages(await server.diagnostics(join(dir, 'fleet.yaml')))).toEqual([]);
  });

  it('bad values get the friendly messages the CLI uses', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `# yaml-language-server: $schema=${join(ROOT, 'schemas/fleet.schema.json')}
version: 1
hosts:
  Web_1: {}
  web2: { vars: { 9lives: x } }
ops:
  deploy:
    run: "true"
    timeout: 10 minutes
    env: { BAD-NAME: x }
`,
    );
    const found = messages(await server.diagnostics(join(dir, 'fleet.yaml')));
    expect(found).toContain('not a duration: use 500ms, 30s, 2m, 1h or a number of seconds');
    expect(found).toContain('not a valid id: ids use lowercase letters, digits and hyphens, e.g. `web-1`');
    expect(found.join('\n')).toContain('not a valid variable name');
    expect(found.join('\n')).toContain('not a valid environment variable name');
    // The CLI says the same, with the value in it.
    const cli = await runCli(dir, ['validate']);
    expect(cli.stderr).toContain('`10 minutes` is not a duration (use 500ms, 30s, 2m, 1h or a number of seconds)');
  });
});
