// The spawner's requests the ssh transport uses (CORE-001, "The spawner process"): a command's
// stdout and stderr kept apart, input fed on its stdin, which a command that reads slowly never
// makes the spawner wait for, and a start with no pipes and stderr to a file (an ssh master's).
// Each spawner, chosen by what is on PATH, in a process of its own.
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { makeTempDir } from '../support/cli.js';

const DRIVER = join(import.meta.dirname, 'support', 'spawner-feed.mjs');

describe.runIf(process.platform === 'linux')('a spawner feeding a command', () => {
  it.each([
    ['Python', ['python3', 'perl']],
    ['Perl', ['perl']],
    ['Node', []],
  ])(
    "the %s spawner: stdout and stderr apart, input beyond a pipe's size written as it is read, and stderr to a file",
    { timeout: 90_000 },
    async (kind, extra) => {
      const dir = makeTempDir();
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      for (const name of ['sh', 'head', 'wc', 'sleep', 'touch', 'cat', 'ls', 'readlink', 'grep', ...extra])
        symlinkSync(`/usr/bin/${name}`, join(bin, name));
      const run = await execa(process.execPath, [DRIVER, dir], {
        cwd: dir,
        reject: false,
        env: { PATH: bin },
        extendEnv: false,
        timeout: 60_000,
      });
      expect(run.exitCode, String(run.stderr)).toBe(0);
      const { kind: used, bytes, results, detached } = JSON.parse(String(run.stdout));
      expect(used).toBe(kind);
      const [fed, plain, toucher] = results;
      expect(fed).toEqual({ out: `${bytes}\n`, err: 'reading\n', code: 0 });
      expect(plain).toEqual({ out: '', err: '', code: 0 });
      expect(toucher).toEqual({ out: 'touched\n', err: '', code: 0 });
      expect(detached).toEqual({
        out: '',
        code: 0,
        log: 'before\nerr\nread 0\n0 /dev/null, 1 /dev/null, log open 1\n',
      });
    },
  );
});
