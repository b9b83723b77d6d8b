// The real CLI in a pseudo-terminal, seen the way a person sees it: script(1) gives nixfleet a
// tty of a chosen size, and every byte it writes goes through a headless xterm of that size, so
// tests assert on the screen (cursor moves, erases and redraws applied), at any moment of the run.
import { readFileSync, readlinkSync } from 'node:fs';
import xterm from '@xterm/headless';
import { execa, type ResultPromise } from 'execa';
import { BIN } from './cli.js';

export interface PtyRun {
  /** The visible rows, right-trimmed. */
  screen(): Promise<string[]>;
  /** Everything written so far, scrollback included, as the terminal holds it. */
  history(): Promise<string[]>;
  /** history(), with the rows the terminal wrapped joined back into the lines that were written. */
  historyLines(): Promise<string[]>;
  /** Resolves with the screen once `test` holds for it; rejects after `timeoutMs`. */
  waitFor(test: (screen: string) => boolean, timeoutMs?: number): Promise<string>;
  readonly done: ResultPromise;
  /** Raw bytes written, for failure messages. */
  raw(): string;
  /** Types into the terminal: `\u0003` is Ctrl-C, delivered by the tty as SIGINT. */
  type(keys: string): void;
  /**
   * Resizes the terminal as a person dragging its window does: the xterm first (it reflows what
   * it holds), then the pseudo-terminal's size, which sends SIGWINCH to nixfleet.
   */
  resize(size: { rows: number; columns: number }): Promise<void>;
}

export function runInPty(
  cwd: string,
  args: readonly string[],
  size: { rows: number; columns: number },
  env: Record<string, string | undefined> = {},
): PtyRun {
  const term = new xterm.Terminal({ cols: size.columns, rows: size.rows, scrollback: 5000, allowProposedApi: true });
  let rows = size.rows;
  const fullEnv: Record<string, string | undefined> = { ...process.env, NO_COLOR: '1', ...env };
  delete fullEnv.CI;
  delete fullEnv.GITHUB_ACTIONS;
  const quoted = args.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
  const done = execa(
    'script',
    ['-qec', `stty cols ${size.columns} rows ${size.rows}; exec node ${BIN} ${quoted}`, '/dev/null'],
    { cwd, env: fullEnv, extendEnv: false, reject: false, stdin: 'pipe', timeout: 180_000, buffer: false },
  );
  let raw = '';
  let written = Promise.resolve();
  done.stdout?.setEncoding('utf8');
  done.stdout?.on('data', (chunk: string) => {
    raw += chunk;
    written = written.then(() => new Promise<void>((resolve) => term.write(chunk, resolve)));
  });
  const lines = (from: number, to: number) => {
    const buffer = term.buffer.active;
    const out: string[] = [];
    for (let i = from; i < to; i++) out.push(buffer.getLine(i)?.translateToString(true) ?? '');
    return out;
  };
  const screen = async () => {
    await written;
    const base = term.buffer.active.baseY;
    return lines(base, base + rows);
  };
  const history = async () => {
    await written;
    return lines(0, term.buffer.active.baseY + rows);
  };
  const historyLines = async () => {
    await written;
    const buffer = term.buffer.active;
    const out: string[] = [];
    for (let i = 0; i < buffer.baseY + rows; i++) {
      // A row that wraps on is full: its trailing blanks are text, the others' are not.
      const wraps = buffer.getLine(i + 1)?.isWrapped ?? false;
      const text = buffer.getLine(i)?.translateToString(!wraps) ?? '';
      if (buffer.getLine(i)?.isWrapped && out.length > 0) out[out.length - 1] += text;
      else out.push(text);
    }
    return out;
  };
  return {
    screen,
    history,
    historyLines,
    done,
    raw: () => raw,
    type: (keys) => {
      done.stdin?.write(keys);
    },
    async resize(to) {
      await written;
      term.resize(to.columns, to.rows);
      rows = to.rows;
      // script(1)'s child is the shell that exec'd nixfleet, on the pseudo-terminal's slave side.
      const pid = done.pid!;
      const child = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(' ')[0];
      const tty = readlinkSync(`/proc/${child}/fd/1`);
      await execa('stty', ['-F', tty, 'cols', String(to.columns), 'rows', String(to.rows)]);
    },
    async waitFor(test, timeoutMs = 90_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const text = (await screen()).join('\n');
        if (test(text)) return text;
        if (Date.now() > deadline) throw new Error(`screen never matched; last screen:\n${text}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
  };
}
