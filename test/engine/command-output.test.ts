// A command's output on its way in (CORE-001, output): the log file gets the bytes as they came,
// and what is shown (the `command_output` events, the live tail) is UTF-8 decoded across chunks.
import { describe, expect, it } from 'vitest';
import { createCommandOutput } from '../../src/engine/command-output.js';
import type { RunEvent } from '../../src/engine/types.js';
import type { Journal } from '../../src/store/types.js';

function journalStub() {
  const stored: Buffer[] = [];
  const progress: string[] = [];
  const journal = {
    openOutput: () => ({
      write: (chunk: string | Uint8Array) => {
        stored.push(Buffer.from(chunk));
      },
      close: async () => {},
    }),
    reportProgress: (_id: string, tail: string) => {
      progress.push(tail);
    },
  } as unknown as Journal;
  return { journal, stored, progress };
}

describe('createCommandOutput', () => {
  it('stores bytes as they came and shows them decoded, a character cut between chunks whole', async () => {
    const { journal, stored, progress } = journalStub();
    const shown: string[] = [];
    const output = createCommandOutput(
      journal,
      (event: RunEvent) => {
        if (event.type === 'command_output') shown.push(event.chunk);
      },
      { runId: 'r1', commandId: 'c1', hostId: 'h1', stage: 0 },
    );
    output.write(Buffer.from([0xff, 0x61, 0xe2]));
    output.write(Buffer.from([0x82, 0xac, 0x0a]));
    output.write('[nixfleet] é\n');
    output.write(Buffer.from([0xc3]));
    await output.close();
    expect(Buffer.concat(stored)).toEqual(
      Buffer.concat([
        Buffer.from([0xff, 0x61, 0xe2, 0x82, 0xac, 0x0a]),
        Buffer.from('[nixfleet] é\n'),
        Buffer.from([0xc3]),
      ]),
    );
    expect(shown.join('')).toBe('\ufffda€\n[nixfleet] é\n\ufffd');
    expect(shown[0]).toBe('\ufffda');
    expect(progress[0]).toBe('\ufffda');
  });
});
