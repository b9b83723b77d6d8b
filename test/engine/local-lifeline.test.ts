// The local transport's side of CORE-011: a command starts only once its group is reported (so
// the journal knows it before the command can do anything), and it still reads /dev/null.
import { describe, expect, it } from 'vitest';
import { createLocalTransport } from '../../src/engine/transports/local.js';
import type { CommandProcess } from '../../src/engine/types.js';
import { makeTempDir } from '../support/cli.js';

describe('a local command and the lifeline', () => {
  it('is reported (group = its shell, start time, NIXFLEET_PROCESS_TAG) before it runs, and reads /dev/null', async () => {
    const transport = createLocalTransport({ shell: '/bin/sh', cwd: makeTempDir() });
    const reported: CommandProcess[] = [];
    let outputBeforeReport = false;
    let output = '';
    const result = await transport.exec('echo "$$"; readlink /proc/$$/fd/0; cat; echo "$NIXFLEET_PROCESS_TAG"', {
      env: {},
      timeoutMs: 30_000,
      onProcess: (process) => reported.push(process),
      onOutput: (chunk) => {
        if (reported.length === 0) outputBeforeReport = true;
        output += chunk;
      },
    });
    expect(result.exitCode, output).toBe(0);
    expect(outputBeforeReport).toBe(false);
    const [pid, stdin, tag] = output.trim().split('\n');
    expect(stdin).toBe('/dev/null');
    expect(tag).toMatch(/^[0-9a-f]{20}$/);
    expect(reported).toEqual([{ group: Number(pid), startedAt: expect.any(Number), tag }]);
  });

  it('tags every command apart, all of one length, so that no tag is the start of another', async () => {
    const transport = createLocalTransport({ shell: '/bin/sh', cwd: makeTempDir() });
    const tags: string[] = [];
    for (let i = 0; i < 3; i++) {
      await transport.exec('true', { env: {}, timeoutMs: 30_000, onProcess: ({ tag }) => tags.push(tag ?? '') });
    }
    expect(new Set(tags).size).toBe(3);
    for (const tag of tags) expect(tag).toMatch(/^[0-9a-f]{20}$/);
  });
});
