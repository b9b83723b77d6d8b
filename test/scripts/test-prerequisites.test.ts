// `npm test` first runs scripts/test-prerequisites.sh: as root with apt-get it installs the Debian
// packages the tests need, otherwise it stops with one line naming the command to run. The
// packages are installed on the machines that run this suite (and must stay so), so "missing" is
// made real for the script's process only: inside a private mount namespace an empty,
// non-executable file is bind-mounted over /usr/sbin/sshd and /usr/bin/chromium, and PATH holds
// only the few programs each case gives it. The not-root cases then drop to `nobody` with setpriv.
// Needs root and unshare(1) (CI runs as root); skipped elsewhere.
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  realpathSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeTempDir, ROOT } from '../support/cli.js';

const SCRIPT = join(ROOT, 'scripts/test-prerequisites.sh');
const SSHD = '/usr/sbin/sshd';
const CHROMIUM = '/usr/bin/chromium';

function which(program: string): string | undefined {
  try {
    return execFileSync('sh', ['-c', `command -v ${program}`], { encoding: 'utf8' }).trim() || undefined;
  } catch {
    return undefined;
  }
}

function canHideFiles(): boolean {
  if (
    process.getuid?.() !== 0 ||
    !which('setpriv') ||
    !which('xmllint') ||
    !existsSync(SSHD) ||
    !existsSync(CHROMIUM)
  ) {
    return false;
  }
  try {
    execFileSync('unshare', ['--mount', '--propagation', 'private', 'true'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

interface Sandbox {
  readonly dir: string;
  /** The directory that is the whole of PATH for the script. */
  readonly bin: string;
  /** A copy of the project's package.json and script, with tsc and vitest that only record. */
  readonly project: string;
  /** What ran: one line per call of apt-get, sudo, tsc or vitest. */
  ran(): string[];
}

let box: Sandbox;

beforeEach(() => {
  const dir = makeTempDir({}, 'nixfleet-prereq-');
  const bin = join(dir, 'bin');
  const project = join(dir, 'project');
  const log = join(dir, 'log', 'ran.log');
  for (const sub of ['bin', 'log', 'home', 'project/scripts', 'project/node_modules/.bin']) {
    mkdirSync(join(dir, sub), { recursive: true });
  }
  writeFileSync(join(dir, 'absent'), '', { mode: 0o644 });
  copyFileSync(join(ROOT, 'package.json'), join(project, 'package.json'));
  copyFileSync(SCRIPT, join(project, 'scripts/test-prerequisites.sh'));
  for (const tool of ['tsc', 'vitest']) recorder(join(project, 'node_modules/.bin', tool), tool, log);
  for (const tool of ['sudo', 'apt-get']) recorder(join(bin, tool), tool, log);
  symlinkSync(process.execPath, join(bin, 'node'));
  for (const tool of ['sh', 'id']) symlinkSync(which(tool)!, join(bin, tool));
  // libxml2-utils is present unless a case removes it (the JUnit test runs xmllint).
  symlinkSync(which('xmllint')!, join(bin, 'xmllint'));
  // Everyone may read the tree and write the log and home: some cases run as nobody.
  execFileSync('chmod', ['-R', 'a+rX', dir]);
  chmodSync(join(dir, 'log'), 0o777);
  chmodSync(join(dir, 'home'), 0o777);
  box = {
    dir,
    bin,
    project,
    ran: () => (existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []),
  };
});

afterEach(() => {
  execFileSync('rm', ['-rf', box.dir]);
});

/** A program that appends `NAME ARGS` to the log and succeeds; `then` is shell run after that. */
function recorder(path: string, name: string, log: string, then = ''): void {
  writeFileSync(path, `#!/bin/sh\necho "${name} $*" >> ${log}\n${then}\n`, { mode: 0o755 });
}

interface Run {
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `command` (in the project copy, with PATH = the sandbox's bin only) inside a mount
 * namespace where each of `hide` is an empty non-executable file, as root or as nobody.
 */
async function run(command: readonly string[], hide: readonly string[], user: 'root' | 'nobody'): Promise<Run> {
  const env = [
    `PATH=${box.bin}`,
    `HOME=${join(box.dir, 'home')}`,
    `npm_config_cache=${join(box.dir, 'home/.npm')}`,
    'npm_config_update_notifier=false',
  ];
  const drop = user === 'nobody' ? [which('setpriv')!, '--reuid=nobody', '--regid=nogroup', '--clear-groups'] : [];
  const inner = [...drop, which('env')!, '-i', ...env, ...command];
  const result = await execa(
    'unshare',
    [
      '--mount',
      '--propagation',
      'private',
      '--',
      'sh',
      '-c',
      'absent=$1; hide=$2; shift 2; for path in $hide; do mount --bind "$absent" "$path" || exit 99; done; cd "$PROJECT" && exec "$@"',
      'sh',
      join(box.dir, 'absent'),
      hide.join(' '),
      ...inner,
    ],
    { reject: false, env: { PROJECT: box.project }, timeout: 60_000 },
  );
  expect(result.exitCode, result.stderr).not.toBe(99);
  return { exitCode: result.exitCode ?? -1, stdout: result.stdout, stderr: result.stderr };
}

const script = ['/bin/sh', 'scripts/test-prerequisites.sh'];

describe.skipIf(!canHideFiles())('npm test provisions its Debian packages (scripts/test-prerequisites.sh)', () => {
  it('not root: one line with the exact command to run, a non-zero exit, nothing run or installed', async () => {
    const result = await run(script, [SSHD, CHROMIUM], 'nobody');

    expect(result.exitCode).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      'npm test: missing test prerequisites (openssh-server openssh-client chromium); install them, then rerun: ' +
        'sudo apt-get update && sudo apt-get install -y --no-install-recommends openssh-server openssh-client chromium',
    );
    expect(box.ran()).toEqual([]);
  });

  it('not root: `npm test` itself stops before the build and before vitest', async () => {
    symlinkSync(realpathSync(which('npm')!), join(box.bin, 'npm'));

    const result = await run(['npm', 'test'], [SSHD, CHROMIUM], 'nobody');

    expect(result.exitCode, result.stderr).not.toBe(0);
    const ours = result.stderr.split('\n').filter((line) => line.startsWith('npm test:'));
    expect(ours, result.stderr).toEqual([
      expect.stringContaining('sudo apt-get install -y --no-install-recommends openssh-server'),
    ]);
    expect(box.ran()).toEqual([]);
  });

  it('names only what is missing', async () => {
    for (const tool of ['ssh', 'ssh-keygen']) symlinkSync(which(tool)!, join(box.bin, tool));

    const result = await run(script, [CHROMIUM], 'nobody');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/\(chromium\); .*sudo apt-get install -y --no-install-recommends chromium$/);
    expect(box.ran()).toEqual([]);
  });

  it('names libxml2-utils when xmllint is missing', async () => {
    for (const tool of ['ssh', 'ssh-keygen']) symlinkSync(which(tool)!, join(box.bin, tool));
    execFileSync('rm', [join(box.bin, 'xmllint')]);

    const result = await run(script, [], 'nobody');

    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(
      /\(libxml2-utils\); .*sudo apt-get install -y --no-install-recommends libxml2-utils$/,
    );
    expect(box.ran()).toEqual([]);
  });

  it('root without apt-get: one line naming the packages, a non-zero exit, nothing run', async () => {
    execFileSync('rm', [join(box.bin, 'apt-get'), join(box.bin, 'sudo')]);

    const result = await run(script, [SSHD, CHROMIUM], 'root');

    expect(result.exitCode).toBe(1);
    expect(result.stderr.split('\n')).toEqual([
      "npm test: missing test prerequisites and no apt-get to install them; install these Debian packages (or your system's equivalents), then rerun: openssh-server openssh-client chromium",
    ]);
    expect(box.ran()).toEqual([]);
  });

  it('root with apt-get: updates, then installs only the missing packages, and checks they arrived', async () => {
    for (const tool of ['ssh', 'ssh-keygen']) symlinkSync(which(tool)!, join(box.bin, tool));
    // This apt-get "installs" chromium by making the hidden file executable.
    const log = join(box.dir, 'log', 'ran.log');
    recorder(join(box.bin, 'apt-get'), 'apt-get', log, `[ "$1" != install ] || ${which('chmod')} 755 ${CHROMIUM}`);

    const result = await run(script, [CHROMIUM], 'root');

    expect(result.exitCode, result.stderr).toBe(0);
    expect(box.ran()).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends chromium']);
  });

  it('root with apt-get that leaves a program missing: fails naming the package', async () => {
    for (const tool of ['ssh', 'ssh-keygen']) symlinkSync(which(tool)!, join(box.bin, tool));

    const result = await run(script, [CHROMIUM], 'root');

    expect(result.exitCode).toBe(1);
    expect(result.stderr.split('\n').at(-1)).toBe(
      'npm test: still missing after apt-get install: chromium (what the tests run from each package is listed in scripts/test-prerequisites.sh)',
    );
    expect(box.ran()).toEqual(['apt-get update -qq', 'apt-get install -y -qq --no-install-recommends chromium']);
  });

  it('everything present: silent, exit 0, nothing installed', async () => {
    for (const tool of ['ssh', 'ssh-keygen']) symlinkSync(which(tool)!, join(box.bin, tool));

    const result = await run(script, [], 'nobody');

    expect(result).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(box.ran()).toEqual([]);
  });
});
