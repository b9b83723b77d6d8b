// Node 20 aborts (SIGABRT, exit 134) when it exits after its terminal hung up: on the way out it
// sets the terminal's modes back on stdin, stdout and stderr, a hung-up terminal refuses that with
// EIO, and Node 20 asserts it cannot (22 and 24 no longer do). A closed terminal is a SIGHUP that
// `apply`, `retry`, `watch` and `serve` answer by cancelling and exiting 130, or 4 (CORE-011,
// CORE-009): so, once one came, each of the three that is a character device but no longer
// answers as a terminal (hung up) is put on /dev/null as the process exits; Node leaves a
// descriptor that was reopened alone. Closed in order, each one's number is the lowest free one,
// which /dev/null then takes. Only after a SIGHUP: `node:tty` loads `net` and the streams, a
// tenth of a start (CORE-005, start-up).
import { closeSync, fstatSync, openSync } from 'node:fs';

let armed = false;

/** Call on SIGHUP: at exit, stdio left on a hung-up terminal is moved to /dev/null. */
export function leaveHungUpTerminalAtExit(): void {
  if (armed) return;
  armed = true;
  process.once('exit', () => {
    const { isatty } = process.getBuiltinModule('node:tty');
    for (const fd of [0, 1, 2]) {
      try {
        if (!fstatSync(fd).isCharacterDevice() || isatty(fd)) continue;
        closeSync(fd);
        openSync('/dev/null', fd === 0 ? 'r' : 'w');
      } catch {
        // Closed already: Node skips it too.
      }
    }
  });
}
