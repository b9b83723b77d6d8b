// CORE-005, templating: every value substituted into a command line reaches the command intact,
// whatever characters it holds, and can never run anything of its own.
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellQuote } from '../../src/domain/shell-quote.js';

const NASTY = [
  'plain',
  '',
  'two words',
  "it's",
  '$(touch /tmp/nixfleet-pwned)',
  '`id`',
  'a;b&&c||d|e',
  '"double" and \'single\'',
  'line\nbreak',
  '*.txt ?',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion that must stay literal
  '$HOME ${HOME}',
  '-n',
  'FOO=bar',
  '--name=a=b',
  '\\backslash\\',
  'ünïcødé ✓',
];

describe('shellQuote', () => {
  it('leaves safe words readable', () => {
    expect(shellQuote('web1')).toBe('web1');
    expect(shellQuote('10.0.0.5')).toBe('10.0.0.5');
    expect(shellQuote('/srv/app-1')).toBe('/srv/app-1');
    expect(shellQuote('user@host:22')).toBe('user@host:22');
  });

  it('quotes anything the shell would interpret', () => {
    expect(shellQuote('two words')).toBe("'two words'");
    expect(shellQuote('')).toBe("''");
    expect(shellQuote("it's")).toBe("'it'\\''s'");
    expect(shellQuote('$(id)')).toBe("'$(id)'");
  });

  it('quotes `NAME=value`, which bare as a first word would be an assignment', () => {
    expect(shellQuote('FOO=injected')).toBe("'FOO=injected'");
    const script = `${shellQuote('FOO=injected')} 2>/dev/null; echo "[$FOO]"`;
    expect(execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' })).toBe('[]\n');
  });

  it('round-trips every value through a real /bin/sh as one argument', () => {
    // One shell run prints each argument on its own NUL-terminated record.
    const script = `for a in ${NASTY.map(shellQuote).join(' ')}; do printf '%s\\0' "$a"; done`;
    const out = execFileSync('/bin/sh', ['-c', script], { encoding: 'utf8' });
    expect(out.split('\0').slice(0, -1)).toEqual(NASTY);
  });
});
