import { PassThrough } from 'node:stream';
import { describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../src/engine/types.js';
import { jsonReport } from '../../src/ui/json-report.js';
import { junitXml } from '../../src/ui/junit-report.js';
import { createPlainRenderer } from '../../src/ui/plain-renderer.js';
import { resolveRenderer } from '../../src/ui/run-renderer.js';
import { applyRunEvent, createRunView } from '../../src/ui/run-view.js';
import { createTtyRenderer } from '../../src/ui/tty-renderer.js';
import { parseXml } from './support/xml-well-formed.js';

const status = (commandId: string, hostId: string, stage: number, s: string, extra = {}): RunEvent => ({
  type: 'command_status',
  runId: 'r1',
  commandId,
  hostId,
  op: stage === 0 ? 'pull' : 'switch',
  stage,
  status: s as never,
  attempt: 1,
  exitCode: null,
  error: null,
  durationMs: null,
  at: 0,
  ...extra,
});

const EVENTS: RunEvent[] = [
  {
    type: 'run_started',
    runId: 'r1',
    target: 'deploy',
    hosts: ['web1', 'db"1'],
    stages: ['pull', 'switch'],
    commands: [
      { commandId: 'c1', stage: 0, hostId: 'web1', op: 'pull' },
      { commandId: 'c2', stage: 0, hostId: 'db"1', op: 'pull' },
      { commandId: 'c3', stage: 1, hostId: 'web1', op: 'switch' },
      { commandId: 'c4', stage: 1, hostId: 'db"1', op: 'switch' },
    ],
    at: 1000,
  },
  { type: 'stage_started', runId: 'r1', stage: 0, op: 'pull', at: 1000 },
  status('c1', 'web1', 0, 'SUCCESS', { exitCode: 0, durationMs: 1200 }),
  {
    type: 'command_output',
    runId: 'r1',
    commandId: 'c2',
    hostId: 'db"1',
    stage: 0,
    chunk: '\u001b[31mred\u001b[0m <tag> & "quotes"\u0007\n',
  },
  status('c2', 'db"1', 0, 'ERROR', { exitCode: 2, error: 'exit code 2 <&>', durationMs: 300 }),
  status('c4', 'db"1', 1, 'SKIPPED'),
  { type: 'stage_finished', runId: 'r1', stage: 0, at: 2300 },
  { type: 'stage_started', runId: 'r1', stage: 1, op: 'switch', at: 2300 },
  status('c3', 'web1', 1, 'SUCCESS', { exitCode: 0, durationMs: 50 }),
  { type: 'run_finished', runId: 'r1', status: 'PARTIAL', at: 3400 },
];

describe('renderer choice', () => {
  it('json with --json, tty in a terminal, plain without one or with CI', () => {
    expect(resolveRenderer('auto', { json: true, isTTY: true, env: {} })).toBe('json');
    expect(resolveRenderer('auto', { json: false, isTTY: true, env: {} })).toBe('tty');
    expect(resolveRenderer('auto', { json: false, isTTY: true, env: { CI: 'true' } })).toBe('plain');
    expect(resolveRenderer('auto', { json: false, isTTY: false, env: {} })).toBe('plain');
    expect(resolveRenderer('tty', { json: false, isTTY: false, env: {} })).toBe('tty');
  });
});

describe('the plain renderer', () => {
  it('one line per status change, prefixed by host, no escape or control codes', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    const renderer = createPlainRenderer(out);
    for (const e of EVENTS) renderer.onEvent(e);
    expect(text).toContain('[web1] pull SUCCESS (1.2s)\n');
    expect(text).toContain('[db"1] pull ERROR (0.3s): exit code 2 <&>\n');
    expect(text).toContain('[db"1]   | red <tag> & "quotes"\n');
    expect(text).toContain('[db"1] switch SKIPPED (pull ERROR: exit code 2 <&>)\n');
    expect(text).toContain('run r1 PARTIAL: 1/2 host(s) completed (2.4s)\n');
    expect(text).not.toMatch(/[\u0000-\u0009\u000b-\u001f]/);
  });
});

describe('the plain renderer, a command still running', () => {
  it('names a rollback as the rollback in its still-running line', () => {
    vi.useFakeTimers({ now: 10_000 });
    try {
      const out = new PassThrough();
      let text = '';
      out.on('data', (d) => {
        text += d;
      });
      const renderer = createPlainRenderer(out);
      renderer.onEvent(EVENTS[0] as RunEvent);
      renderer.onEvent({ type: 'stage_started', runId: 'r1', stage: 0, op: 'pull', at: 10_000 });
      renderer.onEvent(status('c1', 'web1', 0, 'EXECUTING', { at: 10_000 }));
      renderer.onEvent(status('c2', 'db"1', 0, 'ERROR', { exitCode: 1, error: 'exit code 1', rollbackId: 'c5' }));
      renderer.onEvent(status('c5', 'db"1', 0, 'EXECUTING', { rollbackOf: 'c2', at: 10_000 }));
      vi.advanceTimersByTime(6_000);
      expect(text).toContain('[web1] pull running (');
      expect(text).toContain('[db"1] pull rollback running (');
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('the plain renderer under GitHub Actions', () => {
  it('closes the stage group of a run that ends without run_finished (its journal stopped it)', async () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d) => {
      text += d;
    });
    const renderer = createPlainRenderer(out, { github: true });
    renderer.onEvent(EVENTS[0] as RunEvent);
    renderer.onEvent({ type: 'stage_started', runId: 'r1', stage: 0, op: 'pull', at: 1000 });
    expect(text).toContain('::group::stage 1/2: pull\n');
    await renderer.finish?.();
    expect(text.endsWith('::endgroup::\n')).toBe(true);
  });
});

describe('reports', () => {
  const view = createRunView();
  for (const e of EVENTS) applyRunEvent(view, e);

  it('the JSON report lists each host’s commands in stage order', () => {
    expect(jsonReport(view)).toEqual({
      runId: 'r1',
      retryOf: null,
      target: 'deploy',
      status: 'PARTIAL',
      stopped: null,
      canary: [],
      hosts: {
        web1: [
          { op: 'pull', status: 'SUCCESS', exitCode: 0, durationMs: 1200, error: null, batch: null },
          { op: 'switch', status: 'SUCCESS', exitCode: 0, durationMs: 50, error: null, batch: null },
        ],
        'db"1': [
          { op: 'pull', status: 'ERROR', exitCode: 2, durationMs: 300, error: 'exit code 2 <&>', batch: null },
          {
            op: 'switch',
            status: 'SKIPPED',
            exitCode: null,
            durationMs: null,
            error: 'pull ERROR: exit code 2 <&>',
            batch: null,
          },
        ],
      },
    });
  });

  it('JUnit XML is well formed, with escaped names, messages and output', () => {
    const xml = junitXml(view);
    const { root, problems } = parseXml(xml);
    expect(problems).toEqual([]);
    expect(root!.attributes).toMatchObject({ tests: '4', failures: '1' });
    expect(root!.attributes.skipped).toBeUndefined();
    const [pull, change] = root!.children;
    expect(pull!.children[1]!.attributes.name).toBe('db"1');
    expect(pull!.children[1]!.children[0]!.attributes).toEqual({ type: 'ERROR', message: 'exit code 2 <&>' });
    expect(pull!.children[1]!.children[0]!.text).toBe('red <tag> & "quotes"');
    expect(change!.children[1]!.children[0]!.name).toBe('skipped');
    expect(change!.children[1]!.children[0]!.attributes.message).toBe('SKIPPED: pull ERROR: exit code 2 <&>');
  });

  it('the well-formedness check itself rejects broken XML', () => {
    expect(parseXml('<a><b></a>').problems).not.toEqual([]);
    expect(parseXml('<a>x & y</a>').problems).not.toEqual([]);
    expect(parseXml('<a b="1" b="2"/>').problems).not.toEqual([]);
  });
});

describe('the terminal renderer', () => {
  it('draws a burst of status changes as one frame, not one frame each', async () => {
    const out = new PassThrough();
    let frames = 0;
    out.on('data', (chunk: Buffer) => {
      // Every frame but the first starts by moving the cursor up over the one before.
      frames += (chunk.toString().match(/\r\u001b\[\d+A/g) ?? []).length;
    });
    const renderer = createTtyRenderer(Object.assign(out, { rows: 24, columns: 100 }));
    const hosts = Array.from({ length: 3000 }, (_, i) => `h${i}`);
    renderer.onEvent({
      type: 'run_started',
      runId: 'r1',
      target: 'deploy',
      hosts,
      stages: ['pull'],
      commands: hosts.map((hostId, i) => ({ commandId: `c${i}`, stage: 0, hostId, op: 'pull' })),
      at: 0,
    });
    renderer.onEvent({ type: 'stage_started', runId: 'r1', stage: 0, op: 'pull', at: 0 });
    // All 3,000 finish in one turn of the event loop: a frame at once at most, and one after. The
    // renderer's own 8 frames a second may add one or two while the test waits; a frame per
    // change would be 3,000.
    for (const [i, hostId] of hosts.entries()) {
      renderer.onEvent(status(`c${i}`, hostId, 0, 'SUCCESS', { exitCode: 0, durationMs: 5 }));
    }
    expect(frames).toBeLessThanOrEqual(1);
    // The next frame waits for its gap, longer when the last frame cost more (a loaded machine):
    // waited for, up to 2 s, rather than a fixed 100 ms.
    for (let waited = 0; frames < 1 && waited < 2_000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(frames).toBeGreaterThanOrEqual(1);
    expect(frames).toBeLessThanOrEqual(4);
    await renderer.finish();
  });
});
