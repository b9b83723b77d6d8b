// A real PostgreSQL server for the PostgreSQL journal's tests (see CORE-012): initdb into a temp
// directory (as the `postgres` user when we are root: initdb refuses root), then `postgres` on a
// free port of 127.0.0.1 with trust auth and fsync off (a test server never survives a crash
// anyway), but for one role, PASSWORD_ROLE, whose login the server asks a password of. A missing server fails loudly: `npm test` installs it first
// (scripts/test-prerequisites.sh).
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

/** The one role the server asks a password of (SCRAM), so the password paths can be tested. */
export const PASSWORD_ROLE = 'nixfleet_pw';
export const ROLE_PASSWORD = 'pw-for-tests';

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly port: number;
  readonly binDir: string;
  stop(): Promise<void>;
}

export function findPostgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root)
    ? readdirSync(root)
        .filter((entry) => existsSync(join(root, entry, 'bin/postgres')))
        .sort((a, b) => Number(b) - Number(a))
    : [];
  if (versions.length === 0) {
    throw new Error(
      `no PostgreSQL server in ${root}/*/bin: the PostgreSQL journal tests start a real one; ` +
        'install it with `apt-get install postgresql` (`npm test` does this when run as root)',
    );
  }
  return join(root, versions[0]!, 'bin');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startPostgres(): Promise<TestPostgres> {
  const binDir = findPostgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'nixfleet-pg-'));
  const dataDir = join(dir, 'data');
  const asRoot = userInfo().uid === 0;
  // initdb and postgres refuse to run as root: hand the directory to the postgres user.
  const runAs = (program: string, args: string[]) =>
    asRoot ? { command: 'runuser', args: ['-u', 'postgres', '--', program, ...args] } : { command: program, args };
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  chmodSync(dir, 0o700);
  const initdb = runAs(join(binDir, 'initdb'), [
    '-D',
    dataDir,
    '-A',
    'trust',
    '-U',
    'postgres',
    '-E',
    'UTF8',
    '--no-sync',
  ]);
  execFileSync(initdb.command, initdb.args, { stdio: 'ignore' });
  // First match wins: this role's logins over TCP are asked a password, everyone else is trusted.
  const hba = join(dataDir, 'pg_hba.conf');
  writeFileSync(hba, `host all ${PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n${readFileSync(hba, 'utf8')}`);
  const port = await freePort();
  const server = runAs(join(binDir, 'postgres'), [
    '-D',
    dataDir,
    '-p',
    String(port),
    '-c',
    'listen_addresses=127.0.0.1',
    '-c',
    `unix_socket_directories=${dir}`,
    '-c',
    'fsync=off',
    '-c',
    'synchronous_commit=off',
    '-c',
    'full_page_writes=off',
    '-c',
    'max_connections=300',
  ]);
  const child: ChildProcess = spawn(server.command, server.args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.on('data', (chunk: Buffer) => {
    log = (log + chunk.toString()).slice(-4000);
  });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const ready = join(binDir, 'pg_isready');
  for (let i = 0; ; i++) {
    if (child.exitCode !== null) throw new Error(`postgres exited while starting:\n${log}`);
    try {
      execFileSync(ready, ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-q'], { stdio: 'ignore' });
      break;
    } catch {
      if (i > 600) throw new Error(`postgres did not accept connections within a minute:\n${log}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  execFileSync(join(binDir, 'psql'), [
    '-X',
    '-q',
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-U',
    'postgres',
    '-d',
    'postgres',
    '-c',
    `CREATE ROLE ${PASSWORD_ROLE} LOGIN SUPERUSER PASSWORD '${ROLE_PASSWORD}'`,
  ]);
  return {
    url,
    port,
    binDir,
    async stop() {
      if (child.exitCode === null) {
        // Immediate shutdown, nothing to keep. pg_ctl signals the server itself: `runuser` in
        // between does not pass signals on.
        const stop = runAs(join(binDir, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
        try {
          execFileSync(stop.command, stop.args, { stdio: 'ignore' });
        } catch {
          child.kill('SIGKILL');
        }
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
