// A real OpenSSH server for the ssh transport's tests (see CORE-007): 127.0.0.1, a free port, a
// generated host key and client key in a temp directory, and a client ssh_config that points
// known_hosts there too, so nothing touches ~/.ssh. A missing sshd fails loudly: `npm test` installs
// it first (scripts/test-prerequisites.sh).
import { type ChildProcess, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface TestSshd {
  readonly port: number;
  readonly dir: string;
  /** The user the tests log in as (whoever runs them; root in CI). */
  readonly user: string;
  /** A private key listed in the server's authorized_keys. */
  readonly clientKey: string;
  /** A key the server does not accept. */
  readonly strangerKey: string;
  /** Client ssh_config: pass as `-F` (configFile) or NIXFLEET_SSH_CONFIG. */
  readonly clientConfig: string;
  readonly knownHostsFile: string;
  /** The server's public host key line (`ssh-ed25519 AAAA...`). */
  readonly hostPublicKey: string;
  readonly logFile: string;
  /** How many logins the server accepted so far (one per ssh connection). */
  acceptedLogins(): number;
  stop(): Promise<void>;
}

const SSHD_CANDIDATES = ['/usr/sbin/sshd', '/usr/local/sbin/sshd', '/usr/bin/sshd'];

export function findSshd(): string {
  const found = SSHD_CANDIDATES.find((path) => existsSync(path));
  if (!found) {
    throw new Error(
      `sshd not found (looked in ${SSHD_CANDIDATES.join(', ')}): the ssh transport tests need a real OpenSSH server; ` +
        'install it with `apt-get install openssh-server` (`npm test` does this when run as root)',
    );
  }
  return found;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function keygen(file: string): Promise<void> {
  await execa('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'nixfleet-test', '-f', file], { stdin: 'ignore' });
}

export async function startSshd(): Promise<TestSshd> {
  const sshd = findSshd();
  const dir = mkdtempSync(join(tmpdir(), 'nixfleet-sshd-'));
  const hostKey = join(dir, 'host_key');
  const clientKey = join(dir, 'client_key');
  const strangerKey = join(dir, 'stranger_key');
  await Promise.all([keygen(hostKey), keygen(clientKey), keygen(strangerKey)]);
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(`${clientKey}.pub`));
  const port = await freePort();
  const logFile = join(dir, 'sshd.log');
  const knownHostsFile = join(dir, 'known_hosts');
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      // The temp directory's modes are not sshd's business here.
      'StrictModes no',
      'UsePAM no',
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      // The tests run as root in CI; keys only.
      'PermitRootLogin prohibit-password',
      // The benchmark opens many connections at once; the default 10:30:100 would drop some.
      'MaxStartups 200',
      'MaxSessions 200',
      // bash sources ~/.bashrc for ssh commands only at shell level 1; starting at 2 keeps the test
      // user's rc files (pyenv, nvm: often a second per session) out of the tests and the benchmark.
      'SetEnv SHLVL=1',
      // VERBOSE logs each accepted key, which the multiplexing test counts.
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const clientConfig = join(dir, 'ssh_config');
  writeFileSync(
    clientConfig,
    ['Host *', `  UserKnownHostsFile ${knownHostsFile}`, '  GlobalKnownHostsFile /dev/null', ''].join('\n'),
  );
  // sshd running as root insists on its privilege separation directory (Debian creates it at boot).
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });

  const child = spawn(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    log += chunk;
    appendFileSync(logFile, chunk);
  });
  await waitUntilListening(child, () => log, port);

  return {
    port,
    dir,
    user: userInfo().username,
    clientKey,
    strangerKey,
    clientConfig,
    knownHostsFile,
    hostPublicKey: readFileSync(`${hostKey}.pub`, 'utf8').trim().split(' ').slice(0, 2).join(' '),
    logFile,
    acceptedLogins: () => (log.match(/Accepted publickey for /g) ?? []).length,
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      }
      // Per-connection sshd processes can outlive the listener and still write to the shared
      // stderr pipe: stop reading it before its log file goes away.
      child.stderr?.removeAllListeners('data');
      child.stderr?.destroy();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function waitUntilListening(child: ChildProcess, log: () => string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const deadline = setTimeout(() => {
      clearInterval(poll);
      child.kill('SIGKILL');
      reject(new Error(`sshd did not start listening on 127.0.0.1:${port} within 10s:\n${log()}`));
    }, 10_000);
    const poll = setInterval(() => {
      if (log().includes('Server listening on')) {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve();
      } else if (child.exitCode !== null) {
        clearInterval(poll);
        clearTimeout(deadline);
        reject(new Error(`sshd exited with ${child.exitCode} before listening:\n${log()}`));
      }
    }, 20);
  });
}
