// Whether nixfleet was started with its stdout closed (`nixfleet runs >&-`; see CORE-002, output
// that cannot be written). Node never lets a program see that: when it starts with fd 1 closed,
// it opens /dev/null read-write in its place, and every write succeeds into nothing. What tells
// that /dev/null from one the user chose (`> /dev/null`, opened write-only) is how it was opened,
// which only Linux shows (/proc/self/fdinfo). A daemon that hands its children /dev/null opened
// read-write on purpose (daemon(3), start-stop-daemon) does so for stderr too, while a closed
// stdout leaves stderr as it was: so stdout counts as closed only when stderr is not the same.
import { fstatSync, readFileSync, statSync } from 'node:fs';

const O_ACCMODE = 0o3;
const O_RDWR = 0o2;

export function stdoutWasClosed(): boolean {
  if (process.platform !== 'linux') return false;
  try {
    // One fstat for every start; the rest only when stdout is a character device (/dev/null, a tty).
    const stdout = fstatSync(1);
    if (!stdout.isCharacterDevice()) return false;
    const devNull = statSync('/dev/null').rdev;
    if (stdout.rdev !== devNull || !openedReadWrite(1)) return false;
    const stderr = fstatSync(2);
    return !(stderr.isCharacterDevice() && stderr.rdev === devNull && openedReadWrite(2));
  } catch {
    return false;
  }
}

function openedReadWrite(fd: number): boolean {
  const flags = /^flags:\s*([0-7]+)$/m.exec(readFileSync(`/proc/self/fdinfo/${fd}`, 'latin1'))?.[1];
  return flags !== undefined && (Number.parseInt(flags, 8) & O_ACCMODE) === O_RDWR;
}
