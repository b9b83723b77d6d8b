// `apply` and `watch --run` in a real terminal: the CLI runs in a pseudo-terminal of a given size
// and the tests read the screen a person would see (see CORE-002, the terminal view). Commands
// wait on gate files the test creates, so every mid-run screen is asserted while the run is
// really in that state, never after a guessed delay.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { displayWidth } from '../../src/domain/display-width.js';
import { makeTempDir } from '../support/cli.js';
import { type PtyRun, runInPty } from '../support/pty-screen.js';

const SPINNER_LINE = /^\s+[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] \S+/;
/** A shell loop that waits (at most two minutes) for `file` to exist. */
const waitFor = (file: string) => `for i in $(seq 1 1200); do [ -e '${file}' ] && break; sleep 0.1; done`;

const running: PtyRun[] = [];
afterEach(async () => {
  for (const run of running.splice(0)) {
    run.done.kill('SIGKILL');
    await run.done;
  }
});
function start(dir: string, args: string[], rows = 40, columns = 120): PtyRun {
  const run = runInPty(dir, args, { rows, columns });
  running.push(run);
  return run;
}
const count = (screen: string, text: string) => screen.split(text).length - 1;

describe('apply in a terminal', { timeout: 180_000 }, () => {
  it('shows a failed host’s reason and last output, then the recap and the next step', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { web1: {}, web2: {} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" = web2 ]; then echo "disk full on web2"; exit 3; fi; echo ok
    retryable: true
  check:
    run: "true"
pipelines:
  ship: { ops: [deploy, check] }
`,
    });
    const run = start(dir, ['apply', 'ship']);
    const result = await run.done;
    expect(result.exitCode, run.raw()).toBe(1);
    const screen = (await run.screen()).join('\n');
    expect(screen).toContain('✖ web2 deploy ERROR: exit code 3');
    expect(screen).toContain('| disk full on web2');
    expect(screen).toMatch(
      /RECAP r1 ship\n\s+web1\s+ok=2\s+failed=0\s+skipped=0\s*\n\s+web2\s+ok=0\s+failed=1\s+skipped=1\s+deploy ERROR: exit code 3/,
    );
    expect(screen).toMatch(/run r1 PARTIAL: 1\/2 host\(s\) completed/);
    expect(screen).toMatch(
      /next: nixfleet show r1 .*\n\s+nixfleet logs r1 --host web2 .*\n\s+nixfleet retry r1\s+rerun web2/,
    );
  });

  it('shows the last output lines of a running host once, not a stack of snapshots', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web1: {} }
ops:
  tick:
    run: for i in 1 2 3 4 5 6 7 8; do echo tick $i; sleep 0.05; done; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', 'tick']);
    const screen = await run.waitFor((s) => s.includes('tick 8'));
    expect(count(screen, 'tick 8'), screen).toBe(1);
    expect(count(screen, 'tick 7'), screen).toBe(1);
    expect(count(screen, 'tick 6'), screen).toBe(1);
    expect(screen).not.toContain('tick 5');
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(0);
  });

  it('shows a command’s first output and its elapsed time while it runs', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web1: {} }
ops:
  work:
    run: echo working on it; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', 'work']);
    const screen = await run.waitFor((s) => s.includes('working on it'));
    expect(screen).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] web1 \d+\.\ds/);
    // The elapsed time counts up while the command runs.
    const first = Number(/web1 (\d+\.\d)s/.exec(screen)![1]);
    await run.waitFor((s) => Number(/web1 (\d+\.\d)s/.exec(s)?.[1] ?? -1) > first);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(0);
  });

  it('queued hosts wait without a spinner: concurrency 1, three hosts, one spinner', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web1: {}, web2: {}, web3: {} }
ops:
  work:
    run: echo on $NIXFLEET_HOST; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', 'work', '--concurrency', '1']);
    const screen = await run.waitFor((s) => s.includes('on web1'));
    expect(screen).toContain('1 running · 2 queued · 0 ok');
    expect(screen.split('\n').filter((line) => SPINNER_LINE.test(line))).toHaveLength(1);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(0);
  });

  it('40 hosts in a 24-row terminal: the frame fits, the failure stays on screen, the recap ends it', async () => {
    const dir = makeTempDir();
    const hosts = Array.from({ length: 40 }, (_, i) => `h${String(i + 1).padStart(2, '0')}: {}`).join(', ');
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
settings: { concurrency: 20 }
hosts: { ${hosts} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" = h03 ]; then echo "disk full on h03"; exit 3; fi; echo step one; echo step two; ${waitFor(join(dir, 'gate'))}
  check:
    run: "true"
pipelines:
  ship: { ops: [deploy, check] }
`,
    );
    const run = start(dir, ['apply', 'ship'], 24, 80);
    const live = await run.waitFor((s) => s.includes('h03 deploy ERROR') && s.includes('20 running'));
    expect(live).toContain('20 running · 19 queued · 0 ok · 1 failed');
    expect(live).toContain('○ 2/2 check  waiting: 39 host(s) · 1 skipped');
    // Redrawn in place: nothing has scrolled past the top but the run's first line.
    expect((await run.history()).filter((line) => line.trim() !== '').length).toBeLessThanOrEqual(24);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(1);
    const end = (await run.screen()).join('\n');
    expect(end).toContain('✖ h03 deploy ERROR: exit code 3');
    expect(end).toMatch(/39 hosts\s+ok=2\s+failed=0\s+skipped=0\s+all completed: h01, h02, h04, …/);
    expect(end).toMatch(/h03\s+ok=0\s+failed=1\s+skipped=1\s+deploy ERROR: exit code 3/);
    expect(end).toContain('run r1 PARTIAL: 39/40 host(s) completed');
    // `deploy` is not retryable: `retry r1` alone would be refused (CORE-002, hints).
    expect(end).toMatch(/nixfleet retry r1 --force\s+rerun h03 from where it stopped;/);
  });

  it('folds running hosts into one line when even one line each does not fit', async () => {
    const dir = makeTempDir();
    const hosts = Array.from({ length: 40 }, (_, i) => `h${String(i + 1).padStart(2, '0')}: {}`).join(', ');
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
settings: { concurrency: 40 }
hosts: { ${hosts} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" = h40 ]; then exit 4; fi; echo busy; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', 'deploy'], 24, 80);
    const live = await run.waitFor((s) => s.includes('39 running') && s.includes('h40'));
    const lines = live.split('\n').filter((line) => line.trim() !== '');
    expect(lines.length).toBeLessThan(24);
    expect(live).toContain('✖ h40 deploy ERROR: exit code 4');
    expect(live).toMatch(/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] h01 \d+\.\ds, h02 /);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(1);
  });
});

describe('a narrow terminal', { timeout: 180_000 }, () => {
  it('at 60 columns cuts long op and host names, not a stage’s counts or a failed host’s reason', async () => {
    const dir = makeTempDir();
    const op = 'deploy-application-stack-to-production';
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web-frontend-eu-west-01: {}, web-frontend-eu-west-02: {} }
ops:
  ${op}:
    run: if [ "$NIXFLEET_HOST" = web-frontend-eu-west-02 ]; then exit 3; fi; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', op], 30, 60);
    const live = await run.waitFor((s) => s.includes('✖ web-'));
    expect(live).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] 1\/1 deploy-app\S*…\S*production {2}1 running · 0 ok · 1 failed$/m);
    expect(live).toMatch(/^ {4}✖ web-fr…st-02 deploy-…\S* ERROR: exit code 3 \(\d+\.\ds\)$/m);
    for (const row of live.split('\n')) expect(displayWidth(row), live).toBeLessThanOrEqual(59);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(1);
    // The final tree stays in the scrollback with line wrapping on: its lines wrap whole, uncut.
    const end = await run.historyLines();
    expect(end, end.join('\n')).toContain(`✖ 1/1 ${op}  1 ok · 1 failed`);
    expect(end.join('\n')).toMatch(
      new RegExp(`^ {4}✖ web-frontend-eu-west-02 ${op} ERROR: exit code 3 \\(\\d+\\.\\ds\\)$`, 'm'),
    );
  });

  it('cuts CJK output by columns: a line ends with … one column short of the edge, and never wraps', async () => {
    const dir = makeTempDir();
    const text = '日本語のテキスト'.repeat(8); // 64 characters, 128 columns
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web1: {}, web2: {} }
ops:
  deploy:
    run: echo '${text}'; if [ "$NIXFLEET_HOST" = web2 ]; then exit 3; fi; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', 'deploy'], 30, 60);
    const live = await run.waitFor((s) => s.includes('web2 deploy ERROR') && s.includes('› 日本'));
    const cjkRows = (rows: string) => rows.split('\n').filter((row) => row.includes('日本'));
    // web1's tail (›) and web2's excerpt (|), each cut where it fits, the last column left free.
    expect(cjkRows(live), live).toHaveLength(2);
    for (const row of cjkRows(live)) {
      expect(row, live).toMatch(/[›|] 日本語.*…$/);
      expect(displayWidth(row), live).toBeLessThanOrEqual(59);
    }
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(1);
    // The final tree is printed with line wrapping on: a line cut by characters wrapped onto a second row.
    const end = (await run.history()).join('\n');
    expect(cjkRows(end).slice(-1), end).toEqual([expect.stringMatching(/^ +\| 日本語.*…$/)]);
    expect(end).toMatch(/\| 日本語.*…\n\s*RECAP r1 deploy/);
  });
});

describe('a terminal resized mid-run', { timeout: 180_000 }, () => {
  it('shrunk from 120 to 60 columns, it holds exactly one frame, none left behind', async () => {
    const dir = makeTempDir();
    const long = (n: number) => `line ${n} ${'of some rather long output '.repeat(4)}`;
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { web1: {}, web2: {}, web3: {}, web4: {} }
ops:
  deploy:
    run: echo '${long(1)}'; echo '${long(2)}'; echo '${long(3)}'; ${waitFor(join(dir, 'gate'))}
`,
    );
    const run = start(dir, ['apply', 'deploy'], 40, 120);
    await run.waitFor((s) => count(s, 'line 3 of some') === 4);
    await run.resize({ rows: 30, columns: 60 });
    // Redrawn for 60 columns: the twelve output lines cut one column short of the new edge.
    const screen = await run.waitFor((s) => count(s, 'rather…\n') === 12);
    // Nothing else: before, the old frame's lines, reflowed by the terminal onto two rows each, were
    // erased one row per line and the top half of the old frame stayed above the new one.
    for (const row of screen.split('\n')) expect(row.length, screen).toBeLessThan(60);
    const history = (await run.history()).join('\n');
    expect(count(history, '1/1 deploy'), history).toBe(1);
    expect(count(history, 'line 3 of some'), history).toBe(4);
    expect(count(screen, 'web1 '), screen).toBe(1);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(0);
  });
});

describe('Ctrl-C in a terminal', { timeout: 180_000 }, () => {
  it('prints the cancel notice whole, above the live tree, and ends with the recap', async () => {
    const dir = makeTempDir();
    writeFileSync(
      join(dir, 'fleet.yaml'),
      `version: 1
hosts: { a: {}, b: {}, c: {} }
ops:
  slow:
    run: echo started; ${waitFor(join(dir, 'gate'))}
  after:
    run: "true"
pipelines:
  p: { ops: [slow, after] }
`,
    );
    const run = start(dir, ['apply', 'p', '--concurrency', '2'], 24, 80);
    await run.waitFor((s) => s.includes('2 running · 1 queued'));
    run.type('\u0003');
    const screen = await run.waitFor((s) => s.includes('nixfleet: cancelling run r1'));
    // Wrapped, not cut at the edge: the whole notice is on screen, and the tree is still below it.
    expect(screen.replace(/\n/g, '')).toContain('pending ones are cancelled (Ctrl-C again to kill them)');
    expect(screen).toMatch(/nixfleet: cancelling run r1[\s\S]*1\/2 slow/);
    writeFileSync(join(dir, 'gate'), '');
    expect((await run.done).exitCode, run.raw()).toBe(130);
    const end = (await run.screen()).join('\n');
    // Cancelled, not skipped (CORE-002: the stage lines and the recap).
    expect(end).toMatch(/^✔ 1\/2 slow {2}2 ok · 1 cancelled$/m);
    expect(end).toMatch(/^- 2\/2 after {2}0 ok · 3 cancelled$/m);
    expect(end).toMatch(/c\s+ok=0\s+failed=0\s+skipped=0\s+cancelled=2\s+run cancelled/);
    expect(end).toContain('run r1 CANCELLED: 0/3 host(s) completed');
  });
});

describe('watch --run in a terminal', { timeout: 180_000 }, () => {
  it('draws the same tree and recap as apply', async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts: { web1: {}, web2: {} }
ops:
  deploy:
    run: if [ "$NIXFLEET_HOST" = web2 ]; then echo "disk full on web2"; exit 3; fi; echo ok
pipelines:
  ship: { ops: [deploy] }
`,
    });
    const run = start(dir, ['watch', '--run', 'ship']);
    const screen = await run.waitFor((s) => s.includes('next: nixfleet show r1'));
    expect(screen).toContain('✖ web2 deploy ERROR: exit code 3');
    expect(screen).toContain('| disk full on web2');
    expect(screen).toMatch(/RECAP r1 ship\n\s+web1\s+ok=1/);
    // The plain renderer's per-command lines are not used in a terminal.
    expect(screen).not.toContain('[web1] deploy SUCCESS');
  });

  it('a broken save during the run is said above the frame, and stays', async () => {
    const fleet = `version: 1
hosts: { web1: {}, web2: {} }
ops:
  deploy:
    run: ${waitFor('gate')}
pipelines:
  ship: { ops: [deploy] }
`;
    const dir = makeTempDir({ 'fleet.yaml': fleet });
    const run = start(dir, ['watch', '--run', 'ship'], 24, 100);
    await run.waitFor((s) => s.split('\n').some((l) => SPINNER_LINE.test(l) && l.includes('web1')));
    // Saved again until watch reports it: its file watch may not be up yet this early in the run.
    const reported = () => run.raw().includes('error(s) in the fleet file; kept v1');
    for (let save = 0; save < 20 && !reported(); save++) {
      writeFileSync(join(dir, 'fleet.yaml'), `${fleet}  bad: [\n# save ${save}\n`);
      for (let i = 0; i < 20 && !reported(); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // Written to the terminal while the frame is live; before, the next redraw erased it.
    expect(reported()).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 500));
    writeFileSync(join(dir, 'gate'), '');
    const screen = await run.waitFor((s) => s.includes('next: nixfleet show r1'));
    expect(screen).toMatch(
      /\nfleet\.yaml:10:1: invalid YAML[\s\S]*\n1 error\(s\) in the fleet file; kept v1\n✔ 1\/1 deploy/,
    );
    expect(count(screen, 'RECAP r1 ship')).toBe(1);
  });
});
