// The local lifeline (see CORE-011): one small `sh` per nixfleet process, in its own session, that
// holds the list of process groups and pids nixfleet started (local command groups, ssh clients,
// ssh masters) and reads a pipe whose only writer is nixfleet. When nixfleet dies, even by
// SIGKILL, the kernel closes that pipe; the lifeline reads end-of-file and kills everything still
// on its list. A command that ends normally is taken off the list first, so nothing it left in the
// background on purpose is touched while nixfleet lives.
import { type ChildProcess, spawn } from 'node:child_process';

/**
 * `+ g<pgid>` / `+ p<pid>` add, `- g<pgid>` / `- p<pid>` remove. At end-of-file groups get
 * SIGKILL (nothing is left to wait for them) and single pids (ssh masters) SIGTERM, which lets
 * ssh remove its control socket. It ignores the terminal's signals: a closed terminal (SIGHUP)
 * or Ctrl-C must not take it down before nixfleet has cleaned up.
 */
const LIFELINE_SCRIPT = `trap '' HUP INT TERM PIPE
w=' '
while read -r op id; do
  case $op in
    +) w="$w$id " ;;
    -) case $w in *" $id "*) w="\${w%% $id *} \${w#* $id }" ;; esac ;;
  esac
done
for id in $w; do
  case $id in
    g*) kill -KILL "-\${id#g}" 2>/dev/null ;;
    p*) kill -TERM "\${id#p}" 2>/dev/null ;;
  esac
done
`;

let lifeline: ChildProcess | undefined;

function send(line: string): void {
  if (!lifeline) {
    const child = spawn('/bin/sh', ['-c', LIFELINE_SCRIPT], {
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    // Neither the process nor its pipe may keep nixfleet's event loop alive.
    child.unref();
    child.stdin?.on('error', () => {});
    (child.stdin as unknown as { unref?: () => void } | null)?.unref?.();
    child.on('error', () => {});
    child.on('exit', () => {
      if (lifeline === child) lifeline = undefined;
    });
    lifeline = child;
  }
  lifeline.stdin?.write(`${line}\n`);
}

/** Kill this process group (SIGKILL) if nixfleet dies before `releaseGroup`. */
export function holdGroup(pgid: number): void {
  send(`+ g${Math.trunc(pgid)}`);
}

export function releaseGroup(pgid: number): void {
  send(`- g${Math.trunc(pgid)}`);
}

/** Stop this process (SIGTERM) if nixfleet dies before `releaseProcess`: ssh masters. */
export function holdProcess(pid: number): void {
  send(`+ p${Math.trunc(pid)}`);
}

export function releaseProcess(pid: number): void {
  send(`- p${Math.trunc(pid)}`);
}

/** The lifeline's pid, once started (tests check it runs apart from nixfleet). */
export function lifelinePid(): number | undefined {
  return lifeline?.pid;
}
