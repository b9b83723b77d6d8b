// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are shell commands, not JS templates
// CORE-005, templating: a placeholder is allowed only in a bare word of a command, where its
// shell-quoted value is one word; every quoting context around it is found and named.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { unsafePlaceholders } from '../../src/config/shell-context.js';
import { parseTemplate } from '../../src/config/template.js';
import { shellQuote } from '../../src/domain/shell-quote.js';

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
  // Beside bash's evaluating builtins, what they do not evaluate (CORE-005).
  '[[ -f {{ host.name }} && $x == 1 ]]',
  '[ {{ host.name }} -eq 1 ]',
  'declare x={{ host.name }}; export y={{ op.id }}',
  'x=({{ host.name }}) {{ op.id }}',
  'printf -v x %s {{ host.name }}',
  'read -r x < {{ host.name }}',
  'read -r x <<< {{ host.name }}; mapfile -t y <{{ op.id }}',
  'echo let {{ host.name }} [{{ op.id }}]',
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
    // bash evaluates these bare words as arithmetic or a variable's name, and runs the `$(...)`
    // of a subscript in them, quoted or not.
    ['echo $[{{ host.name }} + 1]', 'inside `$[...]` arithmetic'],
    ['[[ {{ host.name }} -eq 1 ]]', 'in a `[[ ... ]]` test that compares numbers or uses `-v`'],
    [
      'if [[ 1 -lt 2 || ( -v {{ host.name }} ) ]]; then :; fi',
      'in a `[[ ... ]]` test that compares numbers or uses `-v`',
    ],
    ['let x={{ host.name }}', 'in an argument of `let`'],
    ['true && { let {{ host.name }}; }', 'in an argument of `let`'],
    ['echo $(FOO=1 read {{ host.name }} </dev/null)', 'in an argument of `read`'],
    ['declare {{ host.name }}=1', 'in an argument of `declare`'],
    ['local -n ref={{ host.name }}', 'in an argument of `local`'],
    ['declare -i n; n={{ host.name }}', 'in an assignment, in a command that declares integer variables'],
    ['a[{{ host.name }}]=1', 'in an array subscript'],
    ['declare -a a=([{{ host.name }}]=1)', 'in an array subscript'],
    ['declare -ai a=(1 {{ host.name }})', 'in an argument of `declare`'],
    ['printf -v {{ host.name }} %s x', 'in an argument of `printf -v`'],
    ['test -v {{ host.name }}', 'in an argument of `test -v`'],
    ['cat <<EOF\nx\nEOF\nunset {{ host.name }}', 'in an argument of `unset`'],
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
        for (const hostile of [value, `a[$(touch ${pwned})]`]) {
          spawnSync(shell, ['-c', rendered(command, hostile)], { cwd: dir, input: '', timeout: 10_000 });
          expect(existsSync(pwned), rendered(command, hostile)).toBe(false);
        }
      }
      // And the same value does get out where the scan refuses (the check above can fail).
      spawnSync(shell, ['-c', rendered('echo deploying \\\n#--name={{ host.name }}', value)], {
        cwd: dir,
        timeout: 10_000,
      });
      expect(existsSync(pwned)).toBe(true);
    },
  );

  // Each of these lets a quoted value's subscript run under bash (the check above can fail).
  it.skipIf(!existsSync('/bin/bash'))('a value gets out of what bash evaluates, so that is refused', () => {
    const commands = [
      'echo $[{{ host.name }}]',
      '[[ {{ host.name }} -eq 1 ]]',
      '[[ -v {{ host.name }} ]]',
      'let {{ host.name }}',
      'read {{ host.name }} </dev/null',
      'declare {{ host.name }}=1',
      'declare -i n; n={{ host.name }}',
      'a[{{ host.name }}]=1',
      'a=([{{ host.name }}]=1)',
      'declare -ai a=(1 {{ host.name }})',
      'printf -v {{ host.name }} %s x',
      'test -v {{ host.name }}',
    ];
    for (const command of commands) {
      const dir = mkdtempSync(join(tmpdir(), 'nixfleet-shell-'));
      const pwned = join(dir, 'pwned');
      expect(contexts(command)[0], command).toBeDefined();
      spawnSync('/bin/bash', ['-c', rendered(command, `a[$(touch ${pwned})]`)], { cwd: dir, timeout: 10_000 });
      expect(existsSync(pwned), command).toBe(true);
    }
  });

  it.skipIf(!existsSync('/bin/bash'))('a value gets out of `((...))` under bash, so that is refused', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nixfleet-shell-'));
    const pwned = join(dir, 'pwned');
    const command = '(( {{ host.name }} > 1 ))';
    expect(contexts(command)).toEqual(['inside `((...))` arithmetic']);
    spawnSync('/bin/bash', ['-c', rendered(command, `$(touch ${pwned})`)], { cwd: dir, timeout: 10_000 });
    expect(existsSync(pwned)).toBe(true);
  });
});
