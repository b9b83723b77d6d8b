// Splits ssh's stderr at the line the remote side prints before it runs the command (see
// remote-command.ts): what comes before it may be ssh's own diagnostics, what comes after is the
// command's stderr. Seeing the line is how an exit status of 255 from the command is told apart
// from ssh failing to connect. It also takes out the end line, printed once the op's shell exited,
// with its exit status.

/** Keep this much of the command's stderr to recognise ssh's connection-lost messages at the end. */
const TAIL_CHARS = 2_048;

export class StartMarkerScanner {
  #pending = '';
  #tail = '';
  #pgid: number | undefined;
  #endCode: number | undefined;
  /** The end of the command's stderr that may be the start of the end line, held back. */
  #held = '';
  readonly #pattern: RegExp;
  readonly #endPattern: RegExp;
  readonly #endHead: string;

  constructor(token: string) {
    // The token is random, so it is matched anywhere: an rc file may have printed a partial line.
    this.#pattern = new RegExp(`${token} (\\d+)\\n`);
    // The command's last stderr may not end its line, so the end line is matched anywhere too.
    this.#endPattern = new RegExp(`${token} end (\\d+)\\n`);
    this.#endHead = `${token} end `;
  }

  /** The op's shell's exit status, once its end line has been seen. */
  get endCode(): number | undefined {
    return this.#endCode;
  }

  /** The remote process group id, once the start line has been seen. */
  get pgid(): number | undefined {
    return this.#pgid;
  }

  /** Everything stderr carried while the start line was not (yet) seen. */
  get beforeStart(): string {
    return this.#pending;
  }

  /** The last part of the command's stderr. */
  get tail(): string {
    return this.#tail;
  }

  /** Feeds a chunk; returns the text that is now known to be output (the start line removed). */
  push(chunk: string): string {
    if (this.#pgid !== undefined) return this.#afterStart(chunk);
    this.#pending += chunk;
    const match = this.#pattern.exec(this.#pending);
    if (!match) return '';
    this.#pgid = Number(match[1]);
    const before = this.#pending.slice(0, match.index);
    const after = this.#pending.slice(match.index + match[0].length);
    this.#pending = '';
    return before + this.#afterStart(after);
  }

  /** What is still held back when stderr ended (a partial line that was not the end line). */
  flush(): string {
    const held = this.#held;
    this.#held = '';
    this.#remember(held);
    return held;
  }

  #afterStart(chunk: string): string {
    let text = this.#held + chunk;
    this.#held = '';
    const end = this.#endCode === undefined ? this.#endPattern.exec(text) : null;
    if (end) {
      this.#endCode = Number(end[1]);
      text = text.slice(0, end.index) + text.slice(end.index + end[0].length);
    } else if (this.#endCode === undefined) {
      // Hold back a tail that may be the first part of the end line, split across chunks.
      const from = Math.max(0, text.length - this.#endHead.length - 12);
      for (let i = from; i < text.length; i++) {
        if (this.#mayBeEndLine(text.slice(i))) {
          this.#held = text.slice(i);
          text = text.slice(0, i);
          break;
        }
      }
    }
    this.#remember(text);
    return text;
  }

  #mayBeEndLine(tail: string): boolean {
    const head = this.#endHead;
    if (tail.length <= head.length) return head.startsWith(tail);
    return tail.startsWith(head) && /^\d*$/.test(tail.slice(head.length));
  }

  #remember(text: string): void {
    this.#tail = (this.#tail + text).slice(-TAIL_CHARS);
  }
}
