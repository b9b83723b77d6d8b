// Splits ssh's stderr at the line the remote side prints before it runs the command (see
// remote-command.ts): what comes before it may be ssh's own diagnostics, what comes after is the
// command's stderr. Seeing the line is how an exit status of 255 from the command is told apart
// from ssh failing to connect.

/** Keep this much of the command's stderr to recognise ssh's connection-lost messages at the end. */
const TAIL_CHARS = 2_048;

export class StartMarkerScanner {
  #pending = '';
  #tail = '';
  #pgid: number | undefined;
  readonly #pattern: RegExp;

  constructor(token: string) {
    // The token is random, so it is matched anywhere: an rc file may have printed a partial line.
    this.#pattern = new RegExp(`${token} (\\d+)\\n`);
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
    if (this.#pgid !== undefined) {
      this.#remember(chunk);
      return chunk;
    }
    this.#pending += chunk;
    const match = this.#pattern.exec(this.#pending);
    if (!match) return '';
    this.#pgid = Number(match[1]);
    const before = this.#pending.slice(0, match.index);
    const after = this.#pending.slice(match.index + match[0].length);
    this.#pending = '';
    this.#remember(after);
    return before + after;
  }

  #remember(text: string): void {
    this.#tail = (this.#tail + text).slice(-TAIL_CHARS);
  }
}
