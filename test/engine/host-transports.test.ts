// CORE-002, "Connections": a host's transport stays open between its commands only while few
// others wait so; past the limit it is closed and opened again by the host's next command.
import { describe, expect, it } from 'vitest';
import { createHostTransports } from '../../src/engine/host-transports.js';
import type { Transport } from '../../src/engine/types.js';
import type { Host, Registry } from '../../src/registry/types.js';

const HOSTS = Array.from({ length: 10 }, (_, i) => `h${i}`);
const STAGES = 3;

describe('host transports', () => {
  it('keep at most the limit open between commands, the first hosts to wait, and close every one', async () => {
    const opened: string[] = [];
    const live = new Set<string>();
    let most = 0;
    const factory = (host: Host | undefined): Transport => {
      const id = host!.id;
      opened.push(id);
      live.add(id);
      most = Math.max(most, live.size);
      return {
        exec: () => Promise.reject(new Error('not used')),
        close: async () => {
          live.delete(id);
        },
      };
    };
    const registry = { hosts: new Map(HOSTS.map((id) => [id, { id } as Host])) } as unknown as Registry;
    const commands = HOSTS.flatMap((hostId) =>
      Array.from({ length: STAGES }, () => ({ hostId, status: 'PENDING' as const })),
    );
    const transports = createHostTransports(factory, registry, commands, 3);
    // Stage by stage, one host at a time, as a pipeline with concurrency 1 runs them.
    for (let stage = 0; stage < STAGES; stage++) {
      for (const host of HOSTS) {
        transports.of(host);
        transports.ended(host);
      }
      // Each host's last command closes its transport.
      if (stage === STAGES - 1) expect(live.size).toBe(0);
      else expect([...live]).toEqual(['h0', 'h1', 'h2']);
    }
    // Three waiting and the one running: never more.
    expect(most).toBe(4);
    const count = (id: string) => opened.filter((o) => o === id).length;
    expect(HOSTS.map(count)).toEqual([1, 1, 1, 3, 3, 3, 3, 3, 3, 3]);
    await transports.closeAll();
    expect(live.size).toBe(0);
  });

  it('a later command SKIPPED while the host still runs one does not close its transport, even past the limit', async () => {
    const closed: string[] = [];
    const factory = (host: Host | undefined): Transport => ({
      exec: () => Promise.reject(new Error('not used')),
      close: async () => {
        closed.push(host!.id);
      },
    });
    const registry = { hosts: new Map([['h0', { id: 'h0' } as Host]]) } as unknown as Registry;
    const commands = Array.from({ length: 3 }, () => ({ hostId: 'h0', status: 'PENDING' as const }));
    // No transport may wait idle: a host's is closed as soon as nothing of it runs.
    const transports = createHostTransports(factory, registry, commands, 0);
    transports.of('h0');
    // A stopped rollout (CORE-008) SKIPS the host's two later stages while its command (or that
    // command's rollback, CORE-009) still runs on the transport.
    transports.ended('h0', false);
    transports.ended('h0', false);
    expect(closed).toEqual([]);
    // The running command's end is the host's last: it closes the transport.
    transports.ended('h0', true);
    expect(closed).toEqual(['h0']);
    await transports.closeAll();
    expect(closed).toEqual(['h0']);
  });
});
