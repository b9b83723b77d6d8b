// CORE-005, templating: placeholders are parsed once, unknown names are problems with offsets,
// and rendering shell-quotes values in command lines but not in cwd and env.
import { describe, expect, it } from 'vitest';
import { parseTemplate, renderTemplate } from '../../src/config/template.js';
import type { Host } from '../../src/registry/types.js';

const host: Host = {
  id: 'web1',
  transport: 'ssh',
  address: '10.0.0.5',
  user: 'deploy',
  tags: ['web'],
  vars: { role: 'web server', branch: 'main' },
  source: { file: '/f.yaml', line: 1, column: 1 },
};
const values = { host, opId: 'pull', pipelineId: 'do-all' };

function render(source: string, mode: 'shell' | 'literal' = 'shell') {
  return renderTemplate(parseTemplate(source), values, mode);
}

describe('parseTemplate', () => {
  it('accepts every documented name, with or without spaces inside the braces', () => {
    const parsed = parseTemplate(
      '{{host.name}} {{ host.address }} {{ host.user }} {{ host.vars.role }} {{ op.id }} {{ pipeline.id }}',
    );
    expect(parsed.problems).toEqual([]);
    expect(parsed.parts.filter((p) => p.kind === 'ref')).toHaveLength(6);
  });

  it('reports an unknown name with its offset and a suggestion', () => {
    const parsed = parseTemplate('echo {{ host.nme }}');
    expect(parsed.problems).toEqual([
      { offset: 5, length: 14, message: 'unknown template name `host.nme`', hint: 'did you mean `host.name`?' },
    ]);
  });

  it('suggests only names of the namespace a name starts with', () => {
    // `op.id` is nearer by letters; a name under `host.` is about the host.
    expect(parseTemplate('echo {{ host.id }}').problems[0]?.hint).toBe(
      'known names: host.name, host.address, host.user, op.id, pipeline.id, host.vars.KEY, secret.NAME',
    );
    expect(parseTemplate('echo {{ pipeline.ids }}').problems[0]?.hint).toBe('did you mean `pipeline.id`?');
    expect(parseTemplate('echo {{ hots.name }}').problems[0]?.hint).toBe('did you mean `host.name`?');
  });

  it('reports an unclosed placeholder and an empty one', () => {
    expect(parseTemplate('echo {{ host.name').problems[0]?.message).toBe('`{{` is never closed');
    expect(parseTemplate('echo {{ }}').problems[0]?.message).toBe('empty placeholder `{{ }}`');
  });

  it('rejects a var key that could not be an environment name', () => {
    expect(parseTemplate('{{ host.vars.9lives }}').problems[0]?.message).toBe(
      'unknown template name `host.vars.9lives`',
    );
  });

  it('keeps text without placeholders as it is', () => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a JS template
    const text = 'echo "${HOME}" { not a placeholder }';
    expect(parseTemplate(text).parts).toEqual([{ kind: 'text', text }]);
  });
});

describe('renderTemplate', () => {
  it('shell-quotes substituted values in command lines', () => {
    expect(render('echo {{ host.vars.role }} on {{ host.name }}')).toEqual({
      ok: true,
      value: "echo 'web server' on web1",
    });
  });

  it('substitutes values literally in cwd and env', () => {
    expect(render('/srv/{{ host.vars.role }}', 'literal')).toEqual({ ok: true, value: '/srv/web server' });
  });

  it('fills op.id and pipeline.id', () => {
    expect(render('{{ pipeline.id }}/{{ op.id }}/{{ host.user }}@{{ host.address }}')).toEqual({
      ok: true,
      value: 'do-all/pull/deploy@10.0.0.5',
    });
  });

  it('names the missing value instead of rendering an empty string', () => {
    expect(render('echo {{ host.vars.region }}')).toEqual({ ok: false, missing: 'host.vars.region' });
    const noUser = renderTemplate(
      parseTemplate('{{ host.user }}'),
      { ...values, host: { ...host, user: undefined } },
      'shell',
    );
    expect(noUser).toEqual({ ok: false, missing: 'host.user' });
  });
});
