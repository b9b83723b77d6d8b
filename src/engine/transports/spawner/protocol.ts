// The messages between nixfleet and its spawner processes (see CORE-001, "The spawner process").
// Requests go down the spawner's channel (Node's IPC channel, or the Python or Perl spawner's stdin as frames,
// frame-link.ts); replies come back in the order they happened.

/** nixfleet → spawner */
export type SpawnerRequest =
  /** Start `file args` in `cwd`, leading a new session, with `env` laid over the spawner's own (nixfleet's). */
  | {
      readonly t: 'start';
      readonly id: number;
      readonly file: string;
      readonly args: readonly string[];
      readonly cwd: string;
      readonly env: Readonly<Record<string, string>>;
      /**
       * stdout and stderr on pipes of their own, told apart in `out` (an ssh client's, whose
       * stderr carries the start and end lines, CORE-007); else one pipe for both.
       */
      readonly split?: boolean;
      /**
       * No pipes at all: stdin and stdout on /dev/null, stderr appended to this file, which must
       * exist. For an ssh master (CORE-007), which lives on in the background and would hold a
       * pipe open for as long as it runs. `end` follows `exit` at once.
       */
      readonly stderrTo?: string;
    }
  /** Open the start gate: one line on the command's stdin, then end-of-file. */
  | { readonly t: 'go'; readonly id: number }
  /**
   * Write `input` on the command's stdin, which then stays open until `cancel` (an ssh client's:
   * the remote gate's line and the secret preamble, then the remote lifeline, CORE-011).
   */
  | { readonly t: 'feed'; readonly id: number; readonly input: string }
  /**
   * Close stdin: a gate never opened reads end-of-file and the shell never runs the command;
   * after `feed`, the end of the input.
   */
  | { readonly t: 'cancel'; readonly id: number }
  /** Stop reading the command's output (only background children still hold it open). */
  | { readonly t: 'close'; readonly id: number };

/** spawner → nixfleet */
export type SpawnerReply =
  | { readonly t: 'spawned'; readonly id: number; readonly pid: number }
  /** The process could not be created; `code` is the errno name when there is one. */
  | { readonly t: 'failed'; readonly id: number; readonly code?: string; readonly message: string }
  /**
   * The command's bytes, never decoded (CORE-001, output): a Buffer from the Python and Perl
   * spawners' frames; from the Node spawner, whose IPC carries JSON, a string of one character
   * per byte (latin1).
   */
  | { readonly t: 'out'; readonly id: number; readonly chunk: Buffer | string; readonly stderr?: boolean }
  | { readonly t: 'exit'; readonly id: number; readonly code: number | null; readonly signal: string | null }
  /** The command's output reached end-of-file (each of its pipes: one, or two where `split`). */
  | { readonly t: 'end'; readonly id: number };

/**
 * A running spawner, as nixfleet's side sees it, whichever program it is (the Perl one, or the
 * Node one where there is no Perl; CORE-001).
 */
export interface SpawnerLink {
  readonly pid: number | undefined;
  send(request: SpawnerRequest): void;
  /** False once its end of the channel is closed: nothing sent would arrive. */
  connected(): boolean;
  /** Whether it may keep nixfleet's event loop alive (only while it carries commands). */
  hold(held: boolean): void;
  /** Closes nixfleet's end of the channel: the spawner ends once it has read it all. */
  end(): void;
  /** Replies, in the order they happened. */
  onReply(listener: (reply: SpawnerReply) => void): void;
  /** It ended, or could not be started. */
  onGone(listener: () => void): void;
}
