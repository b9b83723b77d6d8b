// A real, small file system for disk-full and read-only tests: a tmpfs of a given size, mounted
// by the test (the suite runs as root in CI). Where mounting is not permitted, `mountTmpfs`
// says so on the test's output and returns undefined, and the caller skips the rest of its test.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';

export interface SmallDisk {
  readonly dir: string;
  /** Makes the file system read-only (mount -o remount,ro), or read-write again. */
  remount(mode: 'ro' | 'rw'): Promise<void>;
  unmount(): Promise<void>;
}

export async function mountTmpfs(size: string): Promise<SmallDisk | undefined> {
  const dir = mkdtempSync(join(tmpdir(), 'nixfleet-disk-'));
  const mounted = await execa('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { reject: false });
  if (mounted.exitCode !== 0) {
    rmSync(dir, { recursive: true, force: true });
    // Mounting needs root (CI runs as root): a test that cannot have its disk says so rather
    // than pass silently.
    console.warn('skipped: cannot mount a tmpfs here');
    return undefined;
  }
  return {
    dir,
    async remount(mode) {
      await execa('mount', ['-o', `remount,${mode}`, dir]);
    },
    async unmount() {
      await execa('umount', ['-l', dir], { reject: false });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Fills the file system holding `dir` to the last byte. */
export async function fillDisk(dir: string): Promise<void> {
  await execa('sh', ['-c', `cat /dev/zero > ${JSON.stringify(join(dir, 'filler'))}`], { reject: false });
}
