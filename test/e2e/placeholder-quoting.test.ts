// Placeholders and shell quoting, end to end (see CORE-005, templating): a value is shell-quoted
// for a bare word, so a placeholder written inside quotes, backquotes, a here-document, a comment
// or bash's `((...))` could run the value as code. `validate` refuses those positions with their place and
// the fix, and `apply` runs nothing; bare placeholders carry hostile values as plain text, locally
// and over the real sshd.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, runCli } from '../support/cli.js';
import { startSshd, type TestSshd } from '../support/sshd.js';

let sshd: TestSshd;
let dir: string;
let fleetText: string;

// Each value tries to escape its quoting and create a file in `pwned/`.
const values = (pwned: string): Record<string, string> => ({
  subst: `$(touch ${pwned}/subst)`,
  single: `'; touch ${pwned}/single; '`,
  double: `"; touch ${pwned}/double; "`,
  backquote: `a\`touch ${pwned}/backquote\`b`,
  newline: `x\ntouch ${pwned}/newline\n`,
});

/** The fleet: two hosts with hostile values (one local, one over ssh) and the given ops. */
function fleet(ops: string): string {
  const vars = values(join(dir, 'pwned'));
  const ssh = JSON.stringify({ transport: 'ssh', address: '127.0.0.1', port: sshd.port, user: sshd.user, vars });
  return `version: 1
settings:
  ssh: { identityFile: ${JSON.stringify(sshd.clientKey)}, connectTimeout: 5s }
hosts:
  here: { vars: ${JSON.stringify(vars)} }
  there: ${ssh}
ops:
${ops}`;
}

const QUOTED_OPS = `  in-double:
    run: echo "{{ host.vars.subst }}"
  in-single:
    run: echo '{{ host.vars.single }}'
  in-heredoc:
    run: |
      cat <<EOF
      {{ host.vars.subst }}
      EOF
  in-backquotes:
    run: echo \`echo {{ host.vars.backquote }}\`
  in-comment:
    run: "echo hi # {{ host.vars.newline }}"
  in-precheck:
    precheck: test -n "{{ host.vars.double }}"
    run: "true"
  after-ansi-quote:
    run: printf '%s\\n' $'it\\'s' {{ host.vars.newline }}
  continued-into-comment:
    run: |
      echo deploying \\
      #--name={{ host.vars.newline }}
  split-heredoc:
    run: |
      cat <\\
      <EOF
      value: {{ host.vars.subst }}
      EOF
  in-arith-command:
    run: (( {{ host.vars.subst }} > 1 )) || true
  in-bash-test:
    run: "[[ {{ host.vars.subst }} -gt 1 ]] || true"
pipelines:
  quoted: { ops: [in-double, in-single, in-heredoc, in-backquotes, in-comment, in-precheck, after-ansi-quote, continued-into-comment, split-heredoc, in-arith-command, in-bash-test] }
`;

const bareOp = (cwd: string) => `  bare:
    run: printf '<%s>\\n' {{ host.vars.subst }} {{ host.vars.single }} {{ host.vars.double }} {{ host.vars.backquote }} {{ host.vars.newline }} > out-$NIXFLEET_HOST
    cwd: ${JSON.stringify(cwd)}
`;

beforeAll(async () => {
  sshd = await startSshd();
  dir = makeTempDir({ 'pwned/.keep': '' });
  fleetText = fleet(QUOTED_OPS);
});
afterAll(async () => {
  await sshd?.stop();
});

const env = () => ({ NIXFLEET_SSH_CONFIG: sshd.clientConfig });
const pwnedFiles = () => readdirSync(join(dir, 'pwned')).filter((name) => name !== '.keep');

describe('placeholders inside quotes, here-documents and comments', () => {
  it('validate refuses each with its exact position, what is wrong and the fix; exit 2', async () => {
    const work = makeTempDir({ 'fleet.yaml': fleetText });
    const result = await runCli(work, ['validate']);
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).not.toMatch(/at .*\.js:\d+/);
    const lines = fleetText.split('\n');
    const errors = result.stderr.split('\n').filter((line) => line.startsWith('fleet.yaml:'));
    const expected = [
      ['ops.in-double.run', '{{ host.vars.subst }}', 'inside double quotes', '"$NIXFLEET_VAR_SUBST"'],
      ['ops.in-single.run', '{{ host.vars.single }}', 'inside single quotes', '"$NIXFLEET_VAR_SINGLE"'],
      ['ops.in-heredoc.run', '{{ host.vars.subst }}', 'inside a here-document', '"$NIXFLEET_VAR_SUBST"'],
      ['ops.in-backquotes.run', '{{ host.vars.backquote }}', 'inside backquotes', '$(...)'],
      ['ops.in-comment.run', '{{ host.vars.newline }}', 'inside a comment', '"$NIXFLEET_VAR_NEWLINE"'],
      ['ops.in-precheck.precheck', '{{ host.vars.double }}', 'inside double quotes', '"$NIXFLEET_VAR_DOUBLE"'],
      [
        'ops.after-ansi-quote.run',
        '{{ host.vars.newline }}',
        "after a `$'...'` string holding `\\'`, which shells read differently",
        "`'\\''`",
      ],
      ['ops.continued-into-comment.run', '{{ host.vars.newline }}', 'inside a comment', '"$NIXFLEET_VAR_NEWLINE"'],
      ['ops.split-heredoc.run', '{{ host.vars.subst }}', 'inside a here-document', '"$NIXFLEET_VAR_SUBST"'],
      // The variable is no safer in arithmetic under bash: the hint says to check it first.
      [
        'ops.in-arith-command.run',
        '{{ host.vars.subst }}',
        'inside `((...))` arithmetic',
        'once it is checked to be a number (`case "$NIXFLEET_VAR_SUBST" in \'\'|*[!0-9]*) exit 2;; esac`)',
      ],
      // A bare word, but bash evaluates it as arithmetic (a subscript's `$(...)` would run).
      [
        'ops.in-bash-test.run',
        '{{ host.vars.subst }}',
        'in a `[[ ... ]]` test that compares numbers or uses `-v`',
        'once it is checked to be a plain number or name (`case "$NIXFLEET_VAR_SUBST" in \'\'|*[!A-Za-z0-9_]*) exit 2;; esac`)',
      ],
    ];
    expect(errors).toHaveLength(expected.length);
    for (const [index, [path, placeholder, context, fix]] of expected.entries()) {
      const error = errors[index]!;
      const match =
        /^fleet\.yaml:(\d+):(\d+): (\S+): `(.*?)` is (.*?), where its quoted value could run as code \((.*)\)$/.exec(
          error,
        );
      expect(match, error).not.toBeNull();
      const [, line, column, shownPath, shownPlaceholder, shownContext, hint] = match!;
      expect([shownPath, shownPlaceholder, shownContext]).toEqual([path, placeholder, context]);
      expect(hint).toContain(fix);
      // The position is the placeholder itself in the file.
      expect(lines[Number(line) - 1]!.slice(Number(column) - 1).startsWith(placeholder!), error).toBe(true);
    }
  });

  it.each([
    ['here', 'locally'],
    ['there', 'over ssh'],
  ])('apply on %s (%s) runs nothing and no value runs as code', { timeout: 120_000 }, async (host) => {
    const work = makeTempDir({ 'fleet.yaml': fleetText });
    const result = await runCli(work, ['apply', 'quoted', '--on', host], { env: env(), timeoutMs: 110_000 });
    expect(result.exitCode, result.stderr).toBe(2);
    expect(result.stderr).toContain('is inside double quotes');
    expect(pwnedFiles()).toEqual([]);
    expect(existsSync(join(work, '.nixfleet'))).toBe(false);
  });
});

describe('bare placeholders', () => {
  it('carry hostile values byte for byte as one word each, locally and over ssh', { timeout: 120_000 }, async () => {
    const work = makeTempDir();
    writeFileSync(join(work, 'fleet.yaml'), fleet(bareOp(work)));
    const result = await runCli(work, ['apply', 'bare', '--json'], { env: env(), timeoutMs: 110_000 });
    expect(result.exitCode, result.stderr).toBe(0);
    const v = values(join(dir, 'pwned'));
    const expected = `${[v.subst, v.single, v.double, v.backquote, v.newline].map((value) => `<${value}>`).join('\n')}\n`;
    expect(readFileSync(join(work, 'out-here'), 'utf8')).toBe(expected);
    expect(readFileSync(join(work, 'out-there'), 'utf8')).toBe(expected);
    expect(pwnedFiles()).toEqual([]);
  });
});

describe('a cwd that starts with `-`', () => {
  // CORE-007: the cwd is a directory, never an option of the remote `cd` (`cd -P` went home).
  it('is a directory named so, locally and over ssh', { timeout: 120_000 }, async () => {
    const work = makeTempDir({ '-P/.keep': '' });
    const op = `  dashed:
    run: pwd > ${JSON.stringify(join(work, 'out'))}-$NIXFLEET_HOST
    cwd: "-P"
`;
    writeFileSync(join(work, 'fleet.yaml'), fleet(op));
    const result = await runCli(work, ['apply', 'dashed', '--json'], { env: env(), timeoutMs: 110_000 });
    const report = JSON.parse(result.stdout) as { hosts: Record<string, { status: string }[]> };
    expect(report.hosts.here![0]!.status).toBe('SUCCESS');
    expect(readFileSync(join(work, 'out-here'), 'utf8')).toBe(`${join(work, '-P')}\n`);
    // Over ssh a relative cwd is relative to the login directory, which has no `-P`: the `cd`
    // fails and the command does not run.
    expect(report.hosts.there![0]!.status).toBe('ERROR');
    expect(existsSync(join(work, 'out-there'))).toBe(false);
  });
});

describe('plan shows the cwd as it is used', () => {
  // CORE-005, plans: the `cd` line quotes the directory as the remote line does, so the plan
  // never shows a value that would run as code when it is only a directory's name.
  it('quoted, with `~/` kept for the remote shell and `./` before a leading `-`', async () => {
    const work = makeTempDir();
    const op = `  where:
    run: "true"
    cwd: "{{ host.vars.subst }} dir"
  home:
    run: "true"
    cwd: "~/{{ host.vars.single }}"
  dashed:
    run: "true"
    cwd: "-P"
`;
    writeFileSync(join(work, 'fleet.yaml'), fleet(op));
    const v = values(join(dir, 'pwned'));
    const plan = async (target: string) => {
      const result = await runCli(work, ['plan', target, '--no-color'], { env: env() });
      expect(result.exitCode, result.stderr).toBe(0);
      return result.stdout;
    };
    const where = await plan('where');
    expect(where).toContain(`here   cd '${join(work, v.subst!)} dir'\n`);
    expect(where).toContain(`there  cd '${v.subst} dir'\n`);
    expect(await plan('home')).toContain(`there  cd ~/''\\''; touch ${join(dir, 'pwned')}/single; '\\'''\n`);
    const dashed = await plan('dashed');
    expect(dashed).toContain(`here   cd ${join(work, '-P')}\n`);
    expect(dashed).toContain('there  cd ./-P\n');
  });
});
