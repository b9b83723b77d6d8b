// CORE-002, hints: a suggested command repeats the global flags that chose the fleet file and the
// journal, quoted for the shell, and never prints a store's password.
import { describe, expect, it } from 'vitest';
import { nixfleetCommand, recentRunsHint } from '../../src/domain/nixfleet-command.js';

describe('nixfleetCommand', () => {
  it('is the bare command when no flag chose the fleet file or the journal', () => {
    expect(nixfleetCommand('show r2')).toBe('nixfleet show r2');
    expect(recentRunsHint()).toBe('see `nixfleet runs` for recent runs');
  });

  it('repeats -f, --data-dir and --store in that order, each quoted for the shell', () => {
    const flags = { file: "ops/it's.yaml", dataDir: 'my journal', store: 'postgres://ci@db/fleet' };
    expect(nixfleetCommand('retry r2', flags)).toBe(
      `nixfleet -f 'ops/it'\\''s.yaml' --data-dir 'my journal' --store postgres://ci@db/fleet retry r2`,
    );
  });

  it('writes a value that starts with `-` joined to its flag, where it cannot read as a flag', () => {
    expect(nixfleetCommand('show r1', { file: '-fleet.yaml', dataDir: '-data dir' })).toBe(
      "nixfleet --file=-fleet.yaml --data-dir='-data dir' show r1",
    );
  });

  it("shows a store's password as *** wherever the URL carries it", () => {
    expect(nixfleetCommand('runs', { store: 'postgres://ci:s3cret@db/fleet' })).toBe(
      "nixfleet --store 'postgres://ci:***@db/fleet' runs",
    );
    expect(nixfleetCommand('runs', { store: 'postgres://db/fleet?password=s3cret' })).not.toContain('s3cret');
  });

  it('leaves out a fleet file read from standard input, which cannot be read again', () => {
    expect(nixfleetCommand('show r1', { file: '/dev/stdin', dataDir: 'j' })).toBe('nixfleet --data-dir j show r1');
  });
});
