// The spawner process (see CORE-001, "The spawner process"): a small Node process that starts
// commands for nixfleet (local ones' shells, ssh clients) and relays their output. Forking copies the parent's page tables,
// so a fork from nixfleet's own, larger process cost about twice as much main-thread time as
// everything else a local command needs; here it costs less and runs beside nixfleet's event loop.
// It imports nothing but Node's own modules, so it starts in a few tens of milliseconds.
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readdirSync, readFileSync } from 'node:fs';
import type { SpawnerReply, SpawnerRequest } from './protocol.js';

const children = new Map<number, ChildProcess>();
/**
 * nixfleet's environment, inherited when it started this process, copied once: every read of
 * `process.env` goes through the runtime, and copying it per command was a measurable cost.
 */
const inherited: Readonly<Record<string, string | undefined>> = { ...process.env };

/** `O_CLOEXEC` as Linux prints it in `/proc/self/fdinfo/N` (`flags:` in octal). */
const CLOSE_ON_EXEC = 0o2000000;

/**
 * Closes the descriptors this process inherited without close-on-exec (a lock the calling script
 * holds on fd 200), since Node's spawn would pass them to every command (CORE-001). Node offers no
 * call that sets close-on-exec, but every descriptor it opens has it, the IPC channel's included,
 * so any descriptor past 2 without it is inherited and unused here. Where `/proc` is not there,
 * nothing is closed.
 */
function closeInheritedDescriptors(): void {
  let names: string[];
  try {
    names = readdirSync('/proc/self/fdinfo');
  } catch {
    return;
  }
  for (const name of names) {
    const fd = Number(name);
    if (fd <= 2) continue;
    try {
      const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1];
      if (flags !== undefined && (Number.parseInt(flags, 8) & CLOSE_ON_EXEC) === 0) closeSync(fd);
    } catch {
      // The listing's own descriptor, closed by now.
    }
  }
}
closeInheritedDescriptors();

function reply(message: SpawnerReply): void {
  process.send?.(message);
}

function start(request: Extract<SpawnerRequest, { t: 'start' }>): void {
  const { id } = request;
  let child: ChildProcess;
  let log: number | undefined;
  try {
    // `stderrTo` (an ssh master): no pipe for it to hold while it lives on in the background.
    if (request.stderrTo !== undefined) log = openSync(request.stderrTo, 'a');
    child = spawn(request.file, [...request.args], {
      cwd: request.cwd,
      env: { ...inherited, ...request.env },
      detached: true,
      stdio: log === undefined ? 'pipe' : ['ignore', 'ignore', log],
    });
  } catch (error) {
    // Refused before any process exists (a NUL byte, E2BIG): no event will follow.
    reply({ t: 'failed', id, code: (error as NodeJS.ErrnoException).code, message: String((error as Error).message) });
    return;
  } finally {
    if (log !== undefined) closeSync(log);
  }
  let spawned = false;
  child.on('spawn', () => {
    spawned = true;
    children.set(id, child);
    reply({ t: 'spawned', id, pid: child.pid as number });
  });
  child.on('error', (error: NodeJS.ErrnoException) => {
    if (!spawned) reply({ t: 'failed', id, code: error.code, message: error.message });
  });
  child.stdin?.on('error', () => {});
  // 'end' comes after 'exit' (nixfleet forgets a command at 'end'), however the kernel orders them.
  let open = log === undefined ? 2 : 0;
  let exited = false;
  const endWhenDone = () => {
    if (open > 0 || !exited) return;
    children.delete(id);
    child.stdin?.destroy();
    reply({ t: 'end', id });
  };
  for (const stream of [child.stdout, child.stderr]) {
    // latin1: one character per byte, so bytes that are not UTF-8 reach the log as they came (CORE-001).
    stream?.setEncoding('latin1');
    const stderr = request.split === true && stream === child.stderr;
    stream?.on('data', (chunk: string) => reply(stderr ? { t: 'out', id, chunk, stderr } : { t: 'out', id, chunk }));
    stream?.on('error', () => {});
    stream?.once('close', () => {
      open--;
      endWhenDone();
    });
  }
  child.on('exit', (code, signal) => {
    exited = true;
    reply({ t: 'exit', id, code, signal });
    endWhenDone();
  });
}

process.on('message', (request: SpawnerRequest) => {
  switch (request.t) {
    case 'start':
      start(request);
      return;
    case 'go':
      children.get(request.id)?.stdin?.end('\n');
      return;
    case 'feed':
      children.get(request.id)?.stdin?.write(request.input);
      return;
    case 'cancel':
      children.get(request.id)?.stdin?.destroy();
      return;
    case 'close': {
      const child = children.get(request.id);
      child?.stdout?.destroy();
      child?.stderr?.destroy();
      return;
    }
  }
});
// nixfleet is gone: a command still behind its gate reads end-of-file from the closed pipe and
// never starts; running ones are the lifeline's (CORE-011).
process.on('disconnect', () => process.exit(0));
