// Fleet files that are large, hostile or not fleet files at all (see CORE-005, YAML and errors):
// normal alias use passes, alias bombs and bad merge keys are positioned errors with exit 2 (they
// were internal errors, exit 1), and a huge or binary file is quoted in a short excerpt, never
// echoed whole. Every CLI run is bounded by its timeout.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, makeTempDir, runCli, spawnCli } from '../support/cli.js';
import { waitFor } from '../watch/fleet-edits.js';

const BOUND = { timeoutMs: 60_000 };
const TEST_TIMEOUT = 70_000;

function expectRefused(result: { exitCode: number; stdout: string; stderr: string }, firstLine: string): void {
  expect(result.exitCode, result.stderr.slice(0, 2000)).toBe(2);
  expect(result.stderr.split('\n')[0]).toBe(firstLine);
  expect(result.stderr).not.toContain('internal error');
  expect(result.stderr).not.toMatch(/^\s+at /m);
}

describe('YAML aliases and merge keys', () => {
  it('1,000 hosts sharing `<<: *defaults` validate', { timeout: TEST_TIMEOUT }, async () => {
    const hosts = Array.from({ length: 1000 }, (_, i) => `  web${i}:\n    <<: *defaults\n    vars: { n: "${i}" }`);
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
hosts:
  base: &defaults
    tags: [web]
    vars: { role: web }
${hosts.join('\n')}
ops:
  hello: { run: echo hello }
`,
    });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('fleet.yaml: valid (1001 hosts, 1 op, 0 pipelines)');
  });

  it('a billion-laughs file is refused at the alias where it grows too large', { timeout: TEST_TIMEOUT }, async () => {
    const levels = ['a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]'];
    for (const [index, name] of [...'bcdefghi'].entries()) {
      const previous = String.fromCharCode(97 + index);
      levels.push(`${name}: &${name} [${Array(9).fill(`*${previous}`).join(', ')}]`);
    }
    const dir = makeTempDir({
      'fleet.yaml': `version: 1\nhosts:\n  web1:\n    vars:\n${levels.map((l) => `      ${l}`).join('\n')}\n`,
    });
    const result = await runCli(dir, ['validate'], BOUND);
    expectRefused(
      result,
      'fleet.yaml:11:18: invalid YAML: aliases expand this file to more than 1,000,000 values (nested aliases repeat their anchors; write the values out or use fewer levels of aliases)',
    );
  });

  it('a file as large without any alias is told so, with `include:` as the way out', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    // 1,000,001 tags in flow style: 2 bytes each, under the 8 MiB a fleet file may be.
    const dir = makeTempDir({
      'fleet.yaml': `version: 1\nhosts:\n  web1:\n    tags: [${Array(1_000_001).fill('t').join(',')}]\n`,
    });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode).toBe(2);
    expect(result.stdout + result.stderr).toContain(
      'invalid YAML: this file holds more than 1,000,000 values (split the fleet into files with `include:`; each may hold up to 1,000,000)',
    );
    expect(result.stdout + result.stderr).not.toContain('alias');
  });

  it.each([
    ['an alias to a list', 'lists: &list [1, 2]\nhosts:\n  web1:\n    <<: *list\n', 'fleet.yaml:5:9'],
    ['a list holding a scalar', 'hosts:\n  web0: &m { tags: [a] }\n  web1:\n    <<: [*m, 2]\n', 'fleet.yaml:5:14'],
  ])('a merge key pointing at %s is refused at the value', { timeout: TEST_TIMEOUT }, async (_, body, place) => {
    const dir = makeTempDir({ 'fleet.yaml': `version: 1\n${body}ops:\n  hello: { run: echo hi }\n` });
    const result = await runCli(dir, ['validate'], BOUND);
    expectRefused(
      result,
      `${place}: invalid YAML: \`<<\` merges mappings only (write \`<<: *defaults\` or \`<<: [*a, *b]\`, where each anchor is a mapping)`,
    );
  });

  it('an alias inside its own anchor is refused', { timeout: TEST_TIMEOUT }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  web1: &self\n    tags: [*self]\n' });
    const result = await runCli(dir, ['validate'], BOUND);
    expectRefused(
      result,
      'fleet.yaml:4:12: invalid YAML: alias `*self` is inside its own anchor (an alias must refer to a value that does not contain it)',
    );
  });

  it('each alias that names no anchor is refused where it is, with the anchor it may be a typo of', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({
      'fleet.yaml': `version: 1
x-d: &defaults { tags: [web] }
hosts:
  c:
    tags: *nope2
  d: { <<: *defautls }
ops:
  o: { run: echo hi }
`,
    });
    const result = await runCli(dir, ['validate'], BOUND);
    // Before: only \`fleet.yaml:7:9: invalid YAML: \`<<\` merges mappings only\`, and without the
    // merge \`fleet.yaml:1:1: invalid YAML: Unresolved alias (the anchor must be set before the alias): nope2\`.
    expectRefused(
      result,
      'fleet.yaml:5:11: invalid YAML: alias `*nope2` names no anchor set before it (set `&nope2` on a value above it, or use an anchor that is)',
    );
    expect(result.stderr.split('\n')[1]).toBe(
      'fleet.yaml:6:12: invalid YAML: alias `*defautls` names no anchor set before it (did you mean `*defaults`?)',
    );
  });
});

describe('text encoding', () => {
  it('a U+FFFD written as UTF-8 is text like any other, where a byte that is no UTF-8 is refused', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\nhosts:\n  a: { vars: { k: "\uFFFD and \u20AC" } }\n' });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr).toBe(0);
    writeFileSync(
      join(dir, 'fleet.yaml'),
      Buffer.from('version: 1\nhosts:\n  a: { vars: { k: "caf\xe9" } }\n', 'latin1'),
    );
    expectRefused(
      await runCli(dir, ['validate'], BOUND),
      'fleet.yaml:3:23: not UTF-8 text: the byte 0xE9 here is no UTF-8 character (save the file as UTF-8; from Latin-1: `iconv -f latin1 -t utf-8 FILE`)',
    );
  });
});

describe('files that are not fleet files', () => {
  it('a 2 MB scalar is quoted in a short excerpt', { timeout: TEST_TIMEOUT }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': `${'x'.repeat(2_000_000)}\n` });
    const result = await runCli(dir, ['validate'], BOUND);
    expectRefused(result, `fleet.yaml:1:1: must be a mapping, not \`${'x'.repeat(40)}...\` (2000000 characters)`);
    expect(result.stderr.length).toBeLessThan(500);
  });

  it('an included passwd-like file or binary file is quoted in a short excerpt', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const passwd = Array.from({ length: 2000 }, (_, i) => `user${i}:x:${1000 + i}:100::/home/user${i}:/bin/sh`).join(
      '\n',
    );
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\ninclude: [passwd, blob.bin]\n',
      passwd: `${passwd}\n`,
      // Printable bytes only: YAML refuses most control characters outright, which is fine too.
      'blob.bin': `${randomBytes(300_000).toString('base64')}\n`,
    });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr.slice(0, 2000)).toBe(2);
    expect(result.stderr).toContain(
      'passwd:1:1: must be a mapping, not `user0:x:1000:100::/home/user0:/bin/sh us...` (',
    );
    expect(result.stderr).toMatch(/^blob\.bin:1:1: must be a mapping, not `.{40}\.\.\.` \(400000 characters\)$/m);
    expect(result.stderr.length).toBeLessThan(1000);
  });

  it('an included binary file gives a few short errors, not one per line of it', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({ 'fleet.yaml': 'version: 1\ninclude: [blob.bin]\n' });
    // Random bytes with newlines: the YAML parser finds an error on almost every line.
    const lines = Array.from({ length: 3000 }, () => randomBytes(200).toString('latin1').replaceAll('\n', ''));
    writeFileSync(join(dir, 'blob.bin'), Buffer.from(lines.join('\n'), 'latin1'));
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr.slice(0, 2000)).toBe(2);
    expect(result.stderr).not.toContain('internal error');
    const reported = result.stderr.split('\n').filter((line) => line.startsWith('blob.bin:'));
    expect(reported.length).toBeLessThanOrEqual(11);
    expect(reported.every((line) => line.length < 300)).toBe(true);
    expect(result.stderr.length).toBeLessThan(4000);
  });
});

describe('include patterns', () => {
  // Parentheses became nested regular-expression groups that backtracked for ever against
  // 25-character file names; they now match only themselves.
  const files = Object.fromEntries(
    Array.from({ length: 5 }, (_, i) => [`${'e'.repeat(24)}${i}.yaml`, `ops:\n  op${i}: { run: echo ${i} }\n`]),
  );
  const fleet = (include: string) =>
    `version: 1\ninclude: [${JSON.stringify(include)}, "a(b).yaml"]\nhosts: { h1: {} }\nops:\n  hi: { run: echo hi }\n`;
  const NESTED = '*(*(*(*(*(*(e*)*)*)*)*)*)*x';

  it('with nested parentheses load in bounded time; a file name with parentheses still matches', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({
      ...files,
      'a(b).yaml': 'ops:\n  paren: { run: echo paren }\n',
      'fleet.yaml': fleet(NESTED),
    });
    const result = await runCli(dir, ['validate'], BOUND);
    expect(result.exitCode, result.stderr).toBe(0);
    expect(result.stdout.trim()).toBe('fleet.yaml and 1 included file(s): valid (1 host, 2 ops, 0 pipelines)');
  });

  it('with nested parentheses do not freeze watch, which still stops on SIGTERM', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({
      ...files,
      'a(b).yaml': 'ops:\n  paren: { run: echo paren }\n',
      'fleet.yaml': fleet(NESTED),
    });
    const watch = spawnCli(dir, ['watch'], { timeoutMs: 60_000 });
    let stdout = '';
    watch.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    await waitFor('the start line', () => /watching fleet\.yaml .*v1/.test(stdout), 50_000);
    watch.kill('SIGTERM');
    const result = await watch;
    expect(result.timedOut).toBe(false);
    // Once in a full CI run it ended by a signal within half a second: say which, and what it said.
    expect(result.exitCode, `signal ${result.signal}, stderr: ${String(result.stderr)}`).toBe(0);
  });
});

describe('fleet files that are not regular files, or too large to be fleet files', () => {
  // A device never ends (`-f /dev/zero` grew to 4 GB) and a FIFO with no writer never starts: both
  // ran until killed. Each command must end by itself; the bound is generous, no speed is asserted.
  const fifoIn = (dir: string, name: string) => {
    execFileSync('mkfifo', [join(dir, name)]);
    return dir;
  };
  const DEVICE_HINT = 'pass a regular YAML file with `-f FILE`; a pipe is read only as `-f /dev/stdin`';

  it('a device as the fleet file: validate and runs refuse it, exit 2', { timeout: TEST_TIMEOUT }, async () => {
    const dir = makeTempDir();
    // Only read, never written.
    const validate = await runCli(dir, ['validate', '-f', '/dev/zero'], BOUND);
    expectRefused(validate, `/dev/zero: the fleet file is a device, not a regular file (${DEVICE_HINT})`);
    const runs = await runCli(dir, ['runs', '-f', '/dev/zero'], BOUND);
    expect(runs.stderr.trimEnd().split('\n')).toEqual([
      'nixfleet: the fleet file /dev/zero is a device, not a regular file',
      `  hint: ${DEVICE_HINT}`,
    ]);
    expectRefused(runs, 'nixfleet: the fleet file /dev/zero is a device, not a regular file');
    expect(readdirSync(dir)).toEqual([]);
  });

  it('a FIFO with no writer, as the fleet file or an included one: refused, exit 2', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = fifoIn(makeTempDir({ 'main.yaml': 'version: 1\ninclude: [extra.yaml]\n' }), 'fifo.yaml');
    fifoIn(dir, 'extra.yaml');
    const validate = await runCli(dir, ['validate', '-f', 'fifo.yaml'], BOUND);
    expectRefused(validate, `fifo.yaml: the fleet file is a FIFO, not a regular file (${DEVICE_HINT})`);
    const runs = await runCli(dir, ['runs', '-f', 'fifo.yaml'], BOUND);
    expectRefused(runs, `nixfleet: the fleet file ${join(dir, 'fifo.yaml')} is a FIFO, not a regular file`);
    const included = await runCli(dir, ['validate', '-f', 'main.yaml'], BOUND);
    expectRefused(
      included,
      'main.yaml:2:11: include[0]: included file `extra.yaml` is a FIFO, not a regular file (include regular YAML files only)',
    );
    expect(readdirSync(dir).sort()).toEqual(['extra.yaml', 'fifo.yaml', 'main.yaml']);
  });

  it('a file over 8 MiB is refused unread, main or included', { timeout: TEST_TIMEOUT }, async () => {
    const big = `${'# a comment line of a file far larger than any fleet\n'.repeat(180_000)}version: 1\n`;
    const bytes = Buffer.byteLength(big);
    expect(bytes).toBeGreaterThan(8 * 1024 * 1024);
    const dir = makeTempDir({ 'fleet.yaml': big, 'main.yaml': 'version: 1\ninclude: [fleet.yaml]\n' });
    const limit = `is ${bytes} bytes; a fleet file may be at most 8388608 bytes (8 MiB)`;
    expectRefused(
      await runCli(dir, ['validate'], BOUND),
      `fleet.yaml: the fleet file ${limit} (check that \`-f\` names the fleet file; a larger fleet can be split with \`include:\`)`,
    );
    expectRefused(
      await runCli(dir, ['validate', '-f', 'main.yaml'], BOUND),
      `fleet.yaml: the included file ${limit} (split it into several included files)`,
    );
  });

  it('a directory, as the fleet file or named by `include:`, is said to be one', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({
      'fleet.yaml': 'version: 1\ninclude: [ops]\nhosts: { h1: {} }\n',
      'ops/a.yaml': 'ops:\n  hi: { run: echo hi }\n',
    });
    // It said the included file did not exist.
    expectRefused(
      await runCli(dir, ['validate'], BOUND),
      'fleet.yaml:2:11: include[0]: included file `ops` is a directory, not a file (include the files in it with a glob, e.g. `ops/*.yaml`)',
    );
    expectRefused(
      await runCli(dir, ['validate', '-f', 'ops'], BOUND),
      'ops: the fleet file is a directory, not a file (pass the YAML file in it, e.g. `-f DIR/fleet.yaml`)',
    );
  });

  it('a pipe given as `-f /dev/stdin` is read: a shell pipe, or the socket Node gives a child', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({ 'piped.yaml': 'version: 1\nhosts: { h1: {} }\nops:\n  hi: { run: echo hi }\n' });
    const valid = '/dev/stdin: valid (1 host, 1 op, 0 pipelines)';
    const shell = await execa('sh', ['-c', `cat piped.yaml | node ${BIN} validate -f /dev/stdin`], {
      cwd: dir,
      reject: false,
      timeout: 60_000,
    });
    expect(shell.exitCode, String(shell.stderr)).toBe(0);
    expect(String(shell.stdout).trim()).toBe(valid);
    // Opening /dev/stdin fails on a socket (ENXIO): it is read as it is, not opened again.
    const socket = await runCli(dir, ['validate', '-f', '/dev/stdin'], {
      ...BOUND,
      input: readFileSync(join(dir, 'piped.yaml'), 'utf8'),
    });
    expect(socket.exitCode, socket.stderr).toBe(0);
    expect(socket.stdout.trim()).toBe(valid);
  });

  it('`-f /dev/stdin`: relative paths start in the current directory; watch and serve refuse it, exit 2', {
    timeout: TEST_TIMEOUT,
  }, async () => {
    const dir = makeTempDir({ 'ops.yaml': 'ops:\n  hi: { run: echo hi from stdin }\n' });
    const fleet = 'version: 1\ninclude: [ops.yaml]\nsettings: { dataDir: state }\nhosts: { h1: {} }\n';
    const apply = await runCli(dir, ['apply', 'hi', '-f', '/dev/stdin', '--json'], { ...BOUND, input: fleet });
    expect(apply.exitCode, apply.stderr).toBe(0);
    // The include and the journal are beside the caller, not in /dev.
    expect(existsSync(join(dir, 'state', 'nixfleet.db'))).toBe(true);
    const logs = await runCli(dir, ['logs', 'r1', '--host', 'h1', '--data-dir', 'state'], BOUND);
    expect(logs.stdout).toContain('hi from stdin');
    // A host's key file too.
    const keyed =
      'version: 1\ninclude: [ops.yaml]\nhosts:\n  h1: {}\n  h2: { transport: ssh, identityFile: keys/id }\n';
    const hosts = await runCli(dir, ['list', 'hosts', '--json', '-f', '/dev/stdin'], { ...BOUND, input: keyed });
    expect(JSON.parse(hosts.stdout)[1].identityFile, hosts.stderr).toBe(join(dir, 'keys', 'id'));
    for (const command of ['watch', 'serve']) {
      const refused = await runCli(dir, [command, '-f', '/dev/stdin'], { ...BOUND, input: fleet });
      expect(refused.exitCode, refused.stderr).toBe(2);
      expect(refused.stderr.trimEnd().split('\n')).toEqual([
        `nixfleet: ${command} reads the fleet file again at every save; standard input (/dev/stdin) can be read only once`,
        `  hint: save the fleet to a file and pass that: \`nixfleet ${command} -f fleet.yaml\``,
      ]);
    }
  });
});
