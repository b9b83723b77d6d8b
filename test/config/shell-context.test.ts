// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell commands, not JS templates
// CORE-005, templating: a placeholder is allowed only in a bare word of a command, where its
// shell-quoted value is one word; every quoting context around it is found and named.
import { describe, expect, it } from 'vitest';
import { unsafePlaceholders } from '../../src/config/shell-context.js';
import { parseTemplate } from '../../src/config/template.js';

/** The context of each placeholder in order; undefined where it is a bare word. */
function contexts(command: string): (string | undefined)[] {
  const refs = parseTemplate(command).parts.flatMap((part) => (part.kind === 'ref' ? [part] : []));
  const unsafe = unsafePlaceholders(
    command,
    refs.map((ref) => ({ offset: ref.offset, length: ref.text.length })),
  );
  return refs.map((ref) => unsafe.get(ref.offset));
}

describe('unsafePlaceholders', () => {
  it.each([
    'echo {{ host.name }}',
    'echo --name={{ host.name }} x{{ op.id }}y',
    'echo "a" {{ host.name }} \'b\' {{ op.id }}',
    'x=$(echo {{ host.name }}); echo "$(printf %s {{ op.id }})"',
    'echo "$(cat <<EOF\nhi\nEOF\n)" {{ host.name }}',
    'cat <<EOF\nbody\nEOF\necho {{ host.name }}',
    'cat <<-"EOF"\n\tbody\n\tEOF\necho {{ host.name }}',
    'cat <<< {{ host.name }}',
    "echo it\\'s {{ host.name }} # a comment",
    'echo a#b {{ host.name }}',
    'echo $((1 + 2)) {{ host.name }} ${HOME} `date` {{ op.id }}',
    'test -n {{ host.name }} && { echo {{ op.id }}; }',
  ])('a bare word is fine: %j', (command) => {
    expect(contexts(command).every((context) => context === undefined)).toBe(true);
  });

  it.each([
    ['echo "{{ host.name }}"', 'inside double quotes'],
    ['echo "x $HOME {{ host.name }} y"', 'inside double quotes'],
    ["echo '{{ host.name }}'", 'inside single quotes'],
    ["echo $'a {{ host.name }}'", "inside `$'...'` quotes"],
    ['echo `echo {{ host.name }}`', 'inside backquotes'],
    ['echo "`echo {{ host.name }}`"', 'inside backquotes'],
    ['echo ${X:-{{ host.name }}}', 'inside a `${...}` expansion'],
    ['echo $(( {{ host.name }} + 1 ))', 'inside `$((...))` arithmetic'],
    ['cat <<EOF\nhello {{ host.name }}\nEOF', 'inside a here-document'],
    ["cat <<'EOF'\nhello {{ host.name }}\nEOF", 'inside a here-document'],
    ['cat <<-EOF > f\n\thello {{ host.name }}\n\tEOF', 'inside a here-document'],
    ['cat <<A <<B\na\nA\n{{ host.name }}\nB', 'inside a here-document'],
    ['cat <<{{ host.name }}\nx\n', 'in a here-document delimiter'],
    ['echo hi # {{ host.name }}', 'inside a comment'],
    ['echo \\{{ host.name }}', 'right after a backslash'],
    ['echo ${{ host.name }}', 'right after `$`'],
    ['echo "$(echo "{{ host.name }}")"', 'inside double quotes'],
  ])('%j is refused: %s', (command, context) => {
    expect(contexts(command)).toEqual([context]);
  });

  it('judges each placeholder on its own', () => {
    expect(contexts('echo {{ host.name }} "{{ op.id }}" {{ pipeline.id }}')).toEqual([
      undefined,
      'inside double quotes',
      undefined,
    ]);
    expect(contexts('cat <<EOF\n{{ host.name }}\nEOF\necho {{ op.id }}')).toEqual([
      'inside a here-document',
      undefined,
    ]);
  });
});
