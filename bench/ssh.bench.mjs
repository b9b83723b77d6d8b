// The ssh transport's cost (see CORE-007): a 20-host x 5-stage pipeline run by the real engine
// over ssh with multiplexing, over ssh without it, and through the local transport (the baseline,
// same commands, same run); plus the latency of one trivial command through each transport.
// Every "host" is the same throwaway sshd on 127.0.0.1 (generated keys, temp dir), reached under
// 20 host entries. Prints per-op overhead against local, ratios, and the connections sshd accepted.
// Baselines for the ssh figures, in the same run: bare OpenSSH with ControlMaster, no Node in the
// path: one `ssh -S <socket> host true` over an open master (single command), and the 20 x 5
// pipeline as `xargs -P 10` of `ssh -o ControlMaster=auto -o ControlPath=<per host>` per stage.
// As root, the target account is a plain user created here (nfbench, login shell /bin/sh, no rc
// files), so the figures are ssh's and nixfleet's, not a login shell's start-up. Beside each
// pipeline's wall time, the CPU the whole machine spent while it ran (Linux, /proc/stat).
// Run: npm run build && node bench/ssh.bench.mjs   (needs /usr/sbin/sshd and ssh-keygen)
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { loadRegistry } = await import(join(root, 'dist/config/load.js'));
const { buildPlan } = await import(join(root, 'dist/engine/plan.js'));
const { startRun } = await import(join(root, 'dist/engine/run.js'));
const { openJournal } = await import(join(root, 'dist/store/journal.js'));
const { createSshTransport } = await import(join(root, 'dist/engine/transports/ssh.js'));
const { createLocalTransport } = await import(join(root, 'dist/engine/transports/local.js'));

const HOSTS = 20;
const STAGES = 5;
const CONCURRENCY = 10;
const SINGLE_RUNS = 15;
const PIPELINE_ROUNDS = Number(process.env.PIPELINE_ROUNDS ?? 3);

const sshd = ['/usr/sbin/sshd', '/usr/local/sbin/sshd'].find((p) => existsSync(p));
if (!sshd) {
  console.error('ssh bench: no sshd found; install openssh-server');
  process.exit(1);
}

const work = mkdtempSync(join(tmpdir(), 'nixfleet-ssh-bench-'));
const server = await startServer(work);
try {
  await main();
} finally {
  server.stop();
  rmSync(work, { recursive: true, force: true });
}

async function main() {
  process.env.NIXFLEET_SSH_CONFIG = server.clientConfig;
  const muxAndBare = await muxAgainstBare(
    createSshTransport(hostFor('h'), settingsFor(true), { controlDir: work, configFile: server.clientConfig }),
  );
  const single = {
    local: await singleLatency(createLocalTransport({ shell: '/bin/sh', cwd: work })),
    mux: muxAndBare.mux,
    direct: await singleLatency(
      createSshTransport(hostFor('h'), settingsFor(false), { controlDir: work, configFile: server.clientConfig }),
    ),
  };
  const bare = { single: muxAndBare.bare };
  if (process.env.BENCH_SINGLE_ONLY) {
    console.log(`one command: nixfleet multiplexed ${fmt(single.mux)}, bare ssh -S ${fmt(bare.single)} ms`);
    return;
  }
  // The multiplexed pipeline and its bare baseline alternate, so both see the same machine; the
  // medians are compared (a single pair of runs moved the ratio by 0.3 from run to run).
  const bareWalls = [];
  const muxRuns = [];
  // CPU of the whole machine while each side ran (Linux): both sides' ssh clients, sshd and the
  // host's shells share the two cores, so the wall time follows this, and this moves less with
  // what else the machine does. It counts everything running, so take it on a quiet machine.
  const cpu = { bare: [], mux: [] };
  for (let round = 0; round < PIPELINE_ROUNDS; round++) {
    let before = machineCpuMs();
    bareWalls.push(await barePipeline());
    cpu.bare.push(machineCpuMs() - before);
    before = machineCpuMs();
    muxRuns.push(await runPipeline('mux'));
    cpu.mux.push(machineCpuMs() - before);
  }
  bare.pipeline = median(bareWalls);
  const pipeline = {
    local: await runPipeline('local'),
    mux: [...muxRuns].sort((a, b) => a.wall - b.wall)[Math.floor(muxRuns.length / 2)],
    direct: await runPipeline('direct'),
  };

  console.log(`one command (\`true\`), ${SINGLE_RUNS} in a row on one host, median ms:`);
  console.log(`  local ${fmt(single.local)}   ssh multiplexed ${fmt(single.mux)}   ssh direct ${fmt(single.direct)}`);
  console.log(`  (the multiplexed figure excludes the first command, which opens the master)`);
  console.log(
    `  bare \`ssh -S\` over an open master ${fmt(bare.single)}; nixfleet multiplexed / bare ${ratio2(single.mux, bare.single)} (goal 1.2)`,
  );
  console.log('');
  console.log(
    `pipeline: ${HOSTS} hosts x ${STAGES} stages = ${HOSTS * STAGES} ops, concurrency ${CONCURRENCY}, real engine + journal`,
  );
  console.log('transport         wall ms   op median ms   op p95 ms   overhead/op vs local   ssh logins');
  for (const [mode, label] of [
    ['local', 'local (baseline)'],
    ['mux', 'ssh multiplexed'],
    ['direct', 'ssh direct'],
  ]) {
    const r = pipeline[mode];
    const overhead = mode === 'local' ? '-' : `${fmt(r.median - pipeline.local.median)} ms`;
    console.log(
      `${label.padEnd(17)} ${fmt(r.wall).padStart(7)}   ${fmt(r.median).padStart(12)}   ${fmt(r.p95).padStart(9)}   ${overhead.padStart(20)}   ${String(r.logins).padStart(10)}`,
    );
  }
  console.log(
    `bare ssh, a master per host (-M -N -f) then xargs -P ${CONCURRENCY} per stage: wall ${fmt(bare.pipeline)} ms; nixfleet multiplexed / bare ${ratio2(pipeline.mux.wall, bare.pipeline)} (goal 1.2)`,
  );
  console.log(
    `  medians of ${PIPELINE_ROUNDS} alternated rounds; bare ${bareWalls.map(fmt).join(' ')} ms, nixfleet multiplexed ${muxRuns.map((r) => fmt(r.wall)).join(' ')} ms`,
  );
  if (!Number.isNaN(cpu.bare[0])) {
    console.log(
      `  CPU of the whole machine (/proc/stat), medians: bare ${fmt(median(cpu.bare))} ms, nixfleet multiplexed ${fmt(median(cpu.mux))} ms; nixfleet / bare ${ratio2(median(cpu.mux), median(cpu.bare))}`,
    );
  }
  console.log(`target account: ${server.user} (login shell ${server.shell})`);
  console.log('');
  console.log(
    `ratios: pipeline wall  multiplexed/local ${ratio(pipeline.mux.wall, pipeline.local.wall)}, direct/local ${ratio(pipeline.direct.wall, pipeline.local.wall)}, direct/multiplexed ${ratio(pipeline.direct.wall, pipeline.mux.wall)}`,
  );
  console.log(
    `        op median      multiplexed/local ${ratio(pipeline.mux.median, pipeline.local.median)}, direct/local ${ratio(pipeline.direct.median, pipeline.local.median)}, direct/multiplexed ${ratio(pipeline.direct.median, pipeline.mux.median)}`,
  );
}

function hostFor(id) {
  return {
    id,
    transport: 'ssh',
    address: '127.0.0.1',
    port: server.port,
    user: server.user,
    identityFile: server.clientKey,
    tags: [],
    vars: {},
    source: { file: 'bench', line: 1, column: 1 },
  };
}

function settingsFor(multiplex) {
  return {
    concurrency: CONCURRENCY,
    dataDir: work,
    shell: '/bin/sh',
    ssh: { strictHostKeyChecking: 'accept-new', connectTimeoutMs: 10_000, multiplex },
  };
}

async function singleLatency(transport) {
  const times = [];
  for (let i = 0; i <= SINGLE_RUNS; i++) {
    const started = performance.now();
    const result = await transport.exec('true', { env: {}, timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw new Error(`bench command failed: ${JSON.stringify(result)}`);
    if (i > 0) times.push(performance.now() - started);
  }
  await transport.close();
  return median(times);
}

async function runPipeline(mode) {
  const dir = mkdtempSync(join(work, `${mode}-`));
  const hosts = Array.from({ length: HOSTS }, (_, i) => {
    const base = `  h${i + 1}: `;
    if (mode === 'local') return `${base}{ transport: local }`;
    return `${base}{ transport: ssh, address: 127.0.0.1, port: ${server.port}, user: ${server.user} }`;
  });
  const ops = Array.from({ length: STAGES }, (_, i) => `  s${i + 1}:\n    run: echo "$NIXFLEET_HOST stage ${i + 1}"`);
  writeFileSync(
    join(dir, 'fleet.yaml'),
    [
      'version: 1',
      'settings:',
      `  concurrency: ${CONCURRENCY}`,
      '  ssh:',
      `    identityFile: ${server.clientKey}`,
      `    multiplex: ${mode === 'mux'}`,
      // Generous: on a loaded machine the key exchange alone can pass the 10 s default.
      '    connectTimeout: 60s',
      'hosts:',
      ...hosts,
      'ops:',
      ...ops,
      'pipelines:',
      '  bench:',
      `    ops: [${Array.from({ length: STAGES }, (_, i) => `s${i + 1}`).join(', ')}]`,
      '',
    ].join('\n'),
  );
  const registry = await loadRegistry(join(dir, 'fleet.yaml'));
  const journal = openJournal(join(dir, '.nixfleet'));
  const durations = [];
  const failures = [];
  const loginsBefore = server.logins();
  const started = performance.now();
  const run = await startRun(buildPlan(registry, 'bench', undefined), {
    journal,
    actor: 'bench',
    onEvent: (event) => {
      if (event.type !== 'command_status') return;
      if (event.status === 'SUCCESS' && event.durationMs !== null) durations.push(event.durationMs);
      if (event.error) failures.push(`${event.hostId} ${event.op} ${event.status}: ${event.error}`);
    },
  });
  const outcome = await run.done;
  const wall = performance.now() - started;
  journal.close?.();
  if (outcome.status !== 'COMPLETE') {
    throw new Error(`bench pipeline over ${mode} ended ${outcome.status}:\n${failures.slice(0, 10).join('\n')}`);
  }
  return {
    wall,
    median: median(durations),
    p95: quantile(durations, 0.95),
    logins: mode === 'local' ? '-' : server.logins() - loginsBefore,
  };
}

function quantile(values, q) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}
function median(values) {
  return quantile(values, 0.5);
}
function fmt(ms) {
  return ms >= 100 ? ms.toFixed(0) : ms.toFixed(1);
}
function ratio2(a, b) {
  return `${(a / b).toFixed(2)}x`;
}

/** The ssh options both baselines use: the same config, key and account as nixfleet's. */
function bareArgs(extra) {
  return [
    '-F',
    server.clientConfig,
    '-i',
    server.clientKey,
    '-p',
    String(server.port),
    '-l',
    server.user,
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=accept-new',
    ...extra,
  ];
}

/**
 * Runs a command to its exit. Never synchronously: sshd is this process's child and writes its
 * log into a pipe read here, so a blocked event loop would stall sshd and every login with it.
 */
function run(command, args) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${command} exited ${code}`))));
  });
}

/**
 * One `true` through nixfleet's multiplexed transport and one bare `ssh -S socket host true` over
 * a master opened beforehand, alternating, so that load from the rest of the machine hits both
 * alike. Medians; the first nixfleet command (which opens its master) is left out.
 */
async function muxAgainstBare(transport) {
  const socket = join(work, 'bare-single.sock');
  await run('ssh', bareArgs(['-M', '-N', '-f', '-S', socket, '-o', 'ControlPersist=60', '127.0.0.1']));
  const times = { mux: [], bare: [] };
  for (let i = 0; i <= SINGLE_RUNS; i++) {
    let started = performance.now();
    const result = await transport.exec('true', { env: {}, timeoutMs: 30_000 });
    if (result.exitCode !== 0) throw new Error(`bench command failed: ${JSON.stringify(result)}`);
    if (i > 0) times.mux.push(performance.now() - started);
    started = performance.now();
    await run('ssh', bareArgs(['-S', socket, '127.0.0.1', 'true']));
    if (i > 0) times.bare.push(performance.now() - started);
  }
  await transport.close();
  await run('ssh', bareArgs(['-q', '-S', socket, '-O', 'exit', '127.0.0.1'])).catch(() => {});
  return { mux: median(times.mux), bare: median(times.bare) };
}

/**
 * The pipeline as a shell script, timed whole: the 20 masters opened at concurrency 10 (as the
 * engine opens one per host), then per stage every host over its master at concurrency 10, with a
 * barrier between stages.
 */
async function barePipeline() {
  const hosts = Array.from({ length: HOSTS }, (_, i) => `h${i + 1}`).join(' ');
  const ssh = ['ssh', ...bareArgs([])].map((a) => `'${a}'`).join(' ');
  const socket = `'${work}/bare-{}.sock'`;
  const each = (command) => `printf '%s\\n' ${hosts} | xargs -P ${CONCURRENCY} -I{} ${command} || exit 1`;
  const script = [
    each(`${ssh} -M -N -f -o ControlPersist=60 -S ${socket} 127.0.0.1`),
    `for stage in $(seq ${STAGES}); do`,
    `  ${each(`${ssh} -S ${socket} 127.0.0.1 "echo {} stage $stage" >/dev/null`)}`,
    'done',
  ].join('\n');
  const started = performance.now();
  await run('sh', ['-c', script]);
  const wall = performance.now() - started;
  for (let i = 1; i <= HOSTS; i++) {
    await run('ssh', bareArgs(['-q', '-S', join(work, `bare-h${i}.sock`), '-O', 'exit', '127.0.0.1'])).catch(() => {});
  }
  return wall;
}

/** CPU time the whole machine spent (user, nice, system, irq, softirq), in ms; NaN without /proc. */
function machineCpuMs() {
  try {
    const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // Linux counts in USER_HZ, 100 per second on every mainstream kernel.
    return (fields[0] + fields[1] + fields[2] + fields[5] + fields[6]) * 10;
  } catch {
    return Number.NaN;
  }
}

function ratio(a, b) {
  return `${(a / b).toFixed(1)}x`;
}

async function startServer(dir) {
  for (const name of ['host_key', 'client_key']) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, name)], { stdio: 'ignore' });
  }
  writeFileSync(join(dir, 'authorized_keys'), readFileSync(join(dir, 'client_key.pub')));
  const account = benchAccount(dir);
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => resolve(port));
    });
  });
  writeFileSync(
    join(dir, 'sshd_config'),
    [
      'ListenAddress 127.0.0.1',
      `Port ${port}`,
      `HostKey ${join(dir, 'host_key')}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${join(dir, 'authorized_keys')}`,
      'StrictModes no',
      'UsePAM no',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'MaxStartups 200',
      'MaxSessions 200',
      // Keeps the benchmarking user's ~/.bashrc out of every session (bash reads it for ssh
      // commands only at shell level 1): the numbers are ssh's, not the rc files'.
      'SetEnv SHLVL=1',
      'LogLevel VERBOSE',
      '',
    ].join('\n'),
  );
  const clientConfig = join(dir, 'ssh_config');
  writeFileSync(
    clientConfig,
    `Host *\n  UserKnownHostsFile ${join(dir, 'known_hosts')}\n  GlobalKnownHostsFile /dev/null\n`,
  );
  if (process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const child = spawn(sshd, ['-D', '-e', '-f', join(dir, 'sshd_config')], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    log += chunk;
  });
  const deadline = Date.now() + 10_000;
  while (!log.includes('Server listening on')) {
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`sshd did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 20));
  }
  return {
    port,
    user: account.user,
    shell: account.shell,
    clientKey: join(dir, 'client_key'),
    clientConfig,
    logins: () => (log.match(/Accepted publickey for /g) ?? []).length,
    stop: () => child.kill('SIGTERM'),
  };
}

/**
 * As root: the plain account nfbench (created once, login shell /bin/sh, which reads no rc file
 * for `sh -c`), and the temp directory opened so that sshd, acting as that user, can read
 * authorized_keys. Otherwise: whoever runs the bench.
 */
function benchAccount(dir) {
  if (process.getuid?.() !== 0) return { user: userInfo().username, shell: userInfo().shell ?? '?' };
  if (spawnSync('id', ['nfbench'], { stdio: 'ignore' }).status !== 0) {
    execFileSync('useradd', ['-m', '-s', '/bin/sh', 'nfbench'], { stdio: 'inherit' });
  }
  // useradd leaves the account locked ('!'), which sshd refuses without PAM; '*' is no password.
  execFileSync('usermod', ['-p', '*', 'nfbench'], { stdio: 'inherit' });
  chmodSync(dir, 0o755);
  chmodSync(join(dir, 'authorized_keys'), 0o644);
  return { user: 'nfbench', shell: '/bin/sh' };
}
