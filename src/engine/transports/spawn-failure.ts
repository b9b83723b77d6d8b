// A child process that never started (see CORE-001, transports). Node's spawn throws at once for
// what it refuses before any process exists (a NUL byte in the arguments or environment, arguments
// or environment over the kernel's limit: E2BIG) and emits no 'error' or 'exit' event for it. A
// transport listening only to the events would wait for ever, so each transport starts its child
// with `tryStart`.

/** The child, or why it could not even be created. */
export function tryStart<T>(start: () => T): { readonly child: T } | { readonly cause: unknown } {
  try {
    return { child: start() };
  } catch (cause) {
    return { cause };
  }
}

/** Why a spawn failed, in a few words and without echoing the (possibly huge) command or values. */
export function spawnFailureReason(cause: unknown, program: string): string {
  const code = (cause as { code?: unknown } | undefined)?.code;
  const message = cause instanceof Error ? cause.message : String(cause);
  if (code === 'ENOENT') return `cannot start ${program} (no such file or directory)`;
  if (code === 'EACCES') return `cannot start ${program} (permission denied)`;
  if (code === 'E2BIG') return `cannot start ${program}: the command or its environment is too large (E2BIG)`;
  if (code === 'EMFILE' || code === 'ENFILE') return `cannot start ${program}: too many open files (${code})`;
  if (/null bytes/.test(message)) {
    return `cannot start ${program}: the command or its environment contains a NUL byte`;
  }
  const line = message.split('\n')[0] ?? '';
  return `cannot start ${program}: ${line.length > 120 ? `${line.slice(0, 117)}...` : line}`;
}

/**
 * True for a terminal's signal (Ctrl-C, Ctrl-\, hang-up) that ended a child nixfleet started in a
 * session of its own: it can only have reached the child while it was being forked, still in
 * nixfleet's process group (CORE-011, "A Ctrl-C during a fork"). nixfleet sends its children none
 * of these, and ssh catches them itself before it runs anything remotely, so the child ran
 * nothing and may be started again.
 */
export function killedInItsFork(signal: string | null | undefined): boolean {
  return signal === 'SIGINT' || signal === 'SIGQUIT' || signal === 'SIGHUP';
}
