// CORE-010, templating: `{{ secret.NAME }}` renders in command lines as a quoted reference to
// `$NIXFLEET_SECRET_NAME`, never the value, and a real shell expands it to the exact value (no
// word splitting, no globbing); only literal rendering (at exec time, for env) uses the value.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate, secretNames } from '../../src/config/template.js';

const values = { opId: 'deploy', pipelineId: 'do-all', secrets: { token: 'a b  *  $HOME \'"' } };

describe('{{ secret.NAME }}', () => {
  it('parses with the name, and lists the names a template uses once each', () => {
    const parsed = parseTemplate('x {{ secret.token }} {{secret.db_pass}} {{ secret.token }}');
    expect(parsed.problems).toEqual([]);
    expect(secretNames(parsed)).toEqual(['token', 'db_pass']);
  });

  it('refuses a bad name and suggests the namespace for a near miss', () => {
    expect(parseTemplate('{{ secret.9x }}').problems[0]?.message).toBe('unknown template name `secret.9x`');
    expect(parseTemplate('{{ secrets.token }}').problems[0]?.hint).toBe('did you mean `secret.NAME`?');
  });

  it('renders a quoted variable reference in shell mode, never the value', () => {
    const rendered = renderTemplate(parseTemplate('printf %s {{ secret.token }}'), values, 'shell');
    expect(rendered).toEqual({ ok: true, value: 'printf %s "$NIXFLEET_SECRET_token"' });
  });

  it('a real shell expands the reference to the exact value', async () => {
    const rendered = renderTemplate(parseTemplate("printf '[%s]' {{ secret.token }}"), values, 'shell');
    if (!rendered.ok) throw new Error(rendered.missing);
    const result = await execa('/bin/sh', ['-c', rendered.value], {
      cwd: '/',
      env: { NIXFLEET_SECRET_token: values.secrets.token },
    });
    expect(result.stdout).toBe(`[${values.secrets.token}]`);
  });

  it('renders the value only in literal mode, and is missing when no value is given', () => {
    expect(renderTemplate(parseTemplate('Bearer {{ secret.token }}'), values, 'literal')).toEqual({
      ok: true,
      value: `Bearer ${values.secrets.token}`,
    });
    const without = { opId: 'deploy', pipelineId: 'do-all' };
    expect(renderTemplate(parseTemplate('{{ secret.token }}'), without, 'literal')).toEqual({
      ok: false,
      missing: 'secret.token',
    });
  });
});
