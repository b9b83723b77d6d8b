// `rollout.pause` (see CORE-008): the wait between one wave finishing and the next starting. A
// cancel ends it at once, so Ctrl-C during a long pause never hangs.

const POLL_MS = 100;

export async function pauseUnlessCancelled(ms: number, isCancelled: () => boolean): Promise<void> {
  const until = Date.now() + ms;
  while (!isCancelled()) {
    const left = until - Date.now();
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(left, POLL_MS)));
  }
}
