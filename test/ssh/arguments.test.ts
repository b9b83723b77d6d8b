// The pure parts of the ssh transport (see CORE-007): the ssh command line, the remote command
// line, the control socket path, and reading ssh's diagnostics.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectionArgs, controlArgs, sshArgs } from '../../src/engine/transports/ssh/arguments.js';
import { createControlSocket, MAX_SOCKET_PATH, OWNER_FILE } from '../../src/engine/transports/ssh/control-socket.js';
import { describeSshFailure, isConnectionLoss } from '../../src/engine/transports/ssh/failure-reason.js';
import { buildRemoteCommand } from '../../src/engine/transports/ssh/remote-command.js';
import { StartMarkerScanner } from '../../src/engine/transports/ssh/start-marker.js';
import type { Host, SshSettings } from '../../src/registry/types.js';
import { makeTempDir } from '../support/cli.js';

const host: Host = {
  id: 'web1',
  transport: 'ssh',
  address: '10.0.0.5',
  tags: [],
  vars: {},
  source: { file: 'fleet.yaml', line: 1, column: 1 },
};
const settings: SshSettings = { strictHostKeyChecking: 'accept-new', connectTimeoutMs: 2_500, multiplex: true };

function option(args: string[], name: string): string | undefined {
  for (let i = 0; i < args.length - 1; i++) {
    if (args[i] === '-o' && args[i + 1]!.startsWith(`${name}=`)) return args[i + 1]!.slice(name.length + 1);
  }
  return undefined;
}

describe('the ssh command line', () => {
  it('never prompts, rounds the connect timeout up to whole seconds, and applies the host-key policy', () => {
    const args = connectionArgs({ host, settings });
    expect(option(args, 'BatchMode')).toBe('yes');
    expect(option(args, 'ConnectTimeout')).toBe('3');
    expect(option(args, 'StrictHostKeyChecking')).toBe('accept-new');
    expect(args).not.toContain('-p');
    expect(args).not.toContain('-l');
    expect(option(args, 'IdentityFile')).toBeUndefined();
  });

  it("the host's identity file wins over settings; ~ means the local home", () => {
    const fromSettings = connectionArgs({ host, settings: { ...settings, identityFile: '~/.ssh/fleet' } });
    expect(option(fromSettings, 'IdentityFile')).toBe(`"${join(homedir(), '.ssh/fleet')}"`);
    expect(option(fromSettings, 'IdentitiesOnly')).toBe('yes');
    const own = connectionArgs({
      host: { ...host, identityFile: '/keys/web1' },
      settings: { ...settings, identityFile: '~/x' },
    });
    expect(option(own, 'IdentityFile')).toBe('"/keys/web1"');
  });

  it('user, port and config file are passed; the address comes after `--`', () => {
    const args = sshArgs(
      { host: { ...host, address: '-oProxyCommand=evil', user: 'deploy', port: 2222 }, settings, configFile: '/c' },
      { kind: 'none' },
      'true',
    );
    expect(args.slice(0, 2)).toEqual(['-F', '/c']);
    expect(args[args.indexOf('-p') + 1]).toBe('2222');
    expect(args[args.indexOf('-l') + 1]).toBe('deploy');
    expect(args.slice(-3)).toEqual(['--', '-oProxyCommand=evil', 'true']);
  });

  it('multiplexing: a background master, then clients of its socket; off means no socket at all', () => {
    const master = controlArgs({ kind: 'master', socketPath: '/s/m', persistSeconds: 300 });
    expect(option(master, 'ControlMaster')).toBe('yes');
    expect(option(master, 'ControlPersist')).toBe('300');
    expect(master).toEqual(expect.arrayContaining(['-N', '-f']));
    expect(option(controlArgs({ kind: 'client', socketPath: '/s/m' }), 'ControlMaster')).toBe('no');
    expect(option(controlArgs({ kind: 'none' }), 'ControlPath')).toBe('none');
  });
});

describe('the remote command line', () => {
  it('runs through a POSIX shell with env, cwd and command intact', () => {
    const dir = makeTempDir({}, "nixfleet ssh 'cwd' ");
    const line = buildRemoteCommand({
      command: 'printf "%s|%s|%s" "$A" "$B" "$(pwd)"',
      env: { A: "a 'b' $c `d`; e", B: '' },
      cwd: dir,
      shell: '/bin/sh',
      startToken: 'nixfleet-start-0123',
    });
    // What sshd does with it: the login shell runs it with -c; nixfleet's line opens the gate.
    const output = execFileSync('/bin/sh', ['-c', line], { encoding: 'utf8', input: '\n', stdio: 'pipe' });
    expect(output).toBe(`a 'b' $c \`d\`; e||${dir}`);
  });

  it('runs nothing until nixfleet opens the gate: a stdin that ends first (nixfleet gone) exits 125', () => {
    const dir = makeTempDir();
    const line = buildRemoteCommand({ command: 'touch ran', env: {}, cwd: dir, shell: '/bin/sh', startToken: 't' });
    const gone = spawnSync('/bin/sh', ['-c', line], { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
    expect(gone.status).toBe(125);
    // Not even the start line: nothing on the host knew a command was coming.
    expect(gone.stderr).toBe('');
    expect(existsSync(join(dir, 'ran'))).toBe(false);
    const opened = spawnSync('/bin/sh', ['-c', line], { input: '\n', encoding: 'utf8' });
    expect(opened.status).toBe(0);
    expect(existsSync(join(dir, 'ran'))).toBe(true);
  });

  it('a leading ~ in cwd is left for the remote shell to expand', () => {
    const line = buildRemoteCommand({ command: 'pwd', env: {}, cwd: '~/app dir', shell: '/bin/sh', startToken: 't' });
    expect(line).toContain("cd ~/'app dir' &&");
  });
});

describe('the start line', () => {
  it('is found across chunks and after a partial line, and removed from the output', () => {
    const scanner = new StartMarkerScanner('nixfleet-start-ab12');
    let output = scanner.push('rc: hello');
    output += scanner.push(' nixfleet-start-');
    expect(scanner.pgid).toBeUndefined();
    output += scanner.push('ab12 4242\ncommand stderr\n');
    expect(scanner.pgid).toBe(4242);
    output += scanner.push('more\n');
    expect(output).toBe('rc: hello command stderr\nmore\n');
    expect(scanner.tail).toBe('command stderr\nmore\n');
  });

  it('keeps everything for the diagnosis when it never comes', () => {
    const scanner = new StartMarkerScanner('nixfleet-start-ab12');
    expect(scanner.push('ssh: connect to host x port 22: Connection refused\n')).toBe('');
    expect(scanner.pgid).toBeUndefined();
    expect(scanner.beforeStart).toContain('Connection refused');
  });
});

describe('the control socket', () => {
  it('lives in a private directory, and moves to a short temp path when controlDir is too deep', () => {
    const deep = join(makeTempDir(), 'x'.repeat(80));
    const socket = createControlSocket(deep);
    expect(socket.socketPath.length).toBeLessThanOrEqual(MAX_SOCKET_PATH);
    expect(socket.socketPath.startsWith(deep)).toBe(false);
    // In a shared temp directory, a name no other program uses, and whose it is (CORE-007, "Data").
    expect(basename(socket.directory)).toMatch(/^nixfleet-ssh-[A-Za-z0-9]{6}$/);
    expect(JSON.parse(readFileSync(join(socket.directory, OWNER_FILE), 'utf8')).pid).toBe(process.pid);
    expect(statSync(socket.directory).mode & 0o777).toBe(0o700);
    socket.remove();
    expect(existsSync(socket.directory)).toBe(false);
  });
});

describe("reading ssh's diagnostics", () => {
  const destination = { address: '10.0.0.5', user: 'deploy', port: 22 };
  it.each([
    ['ssh: connect to host 10.0.0.5 port 22: Connection refused', 'ssh: connection refused by 10.0.0.5:22'],
    ['ssh: connect to host 10.0.0.5 port 22: Connection timed out', 'ssh: connection to 10.0.0.5:22 timed out'],
    ['Connection timed out during banner exchange', 'ssh: connection to 10.0.0.5:22 timed out'],
    ['ssh: connect to host 10.0.0.5 port 22: No route to host', 'ssh: no route to host 10.0.0.5'],
    ['ssh: Could not resolve hostname web9: Name or service not known', 'ssh: cannot resolve host name 10.0.0.5'],
    [
      'deploy@10.0.0.5: Permission denied (publickey,password).',
      'ssh: permission denied (publickey,password) for deploy@10.0.0.5',
    ],
    [
      '@    WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED!     @\nHost key verification failed.',
      'ssh: host key for 10.0.0.5 does not match known_hosts',
    ],
    ['something new and strange', 'ssh: something new and strange'],
  ])('%s', (stderr, reason) => {
    expect(describeSshFailure(stderr, destination, 255)).toBe(reason);
  });

  it("tells ssh's connection-lost notice from a command's own last line", () => {
    expect(isConnectionLoss('output\nConnection to 10.0.0.5 closed by remote host.\n')).toBe(true);
    expect(isConnectionLoss('client_loop: send disconnect: Broken pipe\n')).toBe(true);
    expect(isConnectionLoss('error: the build failed\n')).toBe(false);
  });
});
