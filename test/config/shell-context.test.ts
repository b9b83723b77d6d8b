// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell commands, not JS templates
// CORE-005, templating: a placeholder is allowed only in a bare word of a command, where its
// shell-quoted value is one word; every quoting context around it is found and named.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unsafePlaceholders } from '../../src/config/shell-context.js';
import { shellQuote } from '../../src/config/shell-quote.js';
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

const BARE = [
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
  'nixos-rebuild switch \\\n  --flake .#{{ host.name }}',
  'echo a \\\n{{ host.name }}',
  "echo $'a\\\\' {{ host.name }}",
  "cat <<'EOF'\na\\\nEOF\necho {{ host.name }}",
  '( (echo {{ host.name }}) )',
];

/** Each placeholder replaced by the shell-quoted `value`, as rendering does for a bare word. */
function rendered(command: string, value: string): string {
  return parseTemplate(command)
    .parts.map((part) => (part.kind === 'ref' ? shellQuote(value) : part.text))
    .join('');
}

describe('unsafePlaceholders', () => {
  it.each(BARE)('a bare word is fine: %j', (command) => {
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
    // bash's arithmetic command expands its text as between double quotes (dash: two subshells).
    ['(( {{ host.name }} > 1 ))', 'inside `((...))` arithmetic'],
    ['true; ((n = (1 + {{ host.name }})))', 'inside `((...))` arithmetic'],
    ['for ((i = 0; i < {{ host.name }}; i++)); do :; done', 'inside `((...))` arithmetic'],
    ['x=$( (\\\n( {{ host.name }} )) )', 'inside `((...))` arithmetic'],
    ['cat <<EOF\nhello {{ host.name }}\nEOF', 'inside a here-document'],
    ["cat <<'EOF'\nhello {{ host.name }}\nEOF", 'inside a here-document'],
    ['cat <<-EOF > f\n\thello {{ host.name }}\n\tEOF', 'inside a here-document'],
    ['cat <<A <<B\na\nA\n{{ host.name }}\nB', 'inside a here-document'],
    ['cat <<{{ host.name }}\nx\n', 'in a here-document delimiter'],
    ['echo hi # {{ host.name }}', 'inside a comment'],
    ['echo \\{{ host.name }}', 'right after a backslash'],
    ['echo ${{ host.name }}', 'right after `$`'],
    ['echo "$(echo "{{ host.name }}")"', 'inside double quotes'],
    // A line continuation is gone before the shell reads on: it neither hides a comment nor splits `<<`.
    ['echo deploying \\\n#--name={{ host.name }}', 'inside a comment'],
    ['cat <\\\n<EOF\nvalue: {{ host.name }}\nEOF', 'inside a here-document'],
    ['cat <<EOF\na\\\nEOF\n{{ host.name }}\nEOF', 'inside a here-document'],
    ['echo $\\\n{{ host.name }}', 'right after `$`'],
    ['echo $\\\n{X:-{{ host.name }}}', 'inside a `${...}` expansion'],
    // dash has no `$'...'`: for it the quote ends at the escaped one.
    [
      "printf '%s\\n' $'it\\'s' {{ host.name }}",
      "after a `$'...'` string holding `\\'`, which shells read differently",
    ],
    ["echo $'\\'' {{ host.name }} '", "after a `$'...'` string holding `\\'`, which shells read differently"],
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

  // What the scan lets through is checked against the shells themselves: a value that tries every
  // way out stays text under dash and bash alike.
  it.each(['/bin/sh', '/bin/bash'].filter((shell) => existsSync(shell)))(
    'every bare word it accepts keeps a hostile value inert under %s',
    (shell) => {
      const dir = mkdtempSync(join(tmpdir(), 'nixfleet-shell-'));
      const pwned = join(dir, 'pwned');
      const value = `$(touch ${pwned})'"\`touch ${pwned}\`"\ntouch ${pwned}\n; touch ${pwned} #`;
      for (const command of BARE) {
        spawnSync(shell, ['-c', rendered(command, value)], { cwd: dir, input: '', timeout: 10_000 });
        expect(existsSync(pwned), rendered(command, value)).toBe(false);
      }
      // And the same value does get out where the scan refuses (the check above can fail).
      spawnSync(shell, ['-c', rendered('echo deploying \\\n#--name={{ host.name }}', value)], {
        cwd: dir,
        timeout: 10_000,
      });
      expect(existsSync(pwned)).toBe(true);
    },
  );

  it.skipIf(!existsSync('/bin/bash'))('a value gets out of `((...))` under bash, so that is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nixfleet-shell-'));
    const pwned = join(dir, 'pwned');
    const command = '(( {{ host.name }} > 1 ))';
    expect(contexts(command)).toEqual(['inside `((...))` arithmetic']);
    spawnSync('/bin/bash', ['-c', rendered(command, `$(touch ${pwned})`)], { cwd: dir, timeout: 10_000 });
    expect(existsSync(pwned)).toBe(true);
  });
});
