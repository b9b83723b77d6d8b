// Follows the journal's change log so that changes written by any process sharing the data
// directory reach the clients in version order (specs/README.md, decision 2; see CORE-004).
import type { Journal, VersionedChange } from '../store/types.js';

export interface ChangeTailListener {
  /** New changes, contiguous and in version order, never empty. */
  onChanges(changes: readonly VersionedChange[]): void;
  /**
   * The log can no longer be followed from where the tail stood: the database went back in time
   * (replaced by an older one) or retention removed changes the tail had not read yet.
   * Every client needs the full state.
   */
  onReset(version: number): void;
  /**
   * The journal failed (a full disk, its files replaced: CORE-003): the tail has stopped. Without
   * this, the error is thrown from the poll.
   */
  onFailure?(error: unknown): void;
}

export interface ChangeTailOptions {
  /** Poll period; each poll is one `max(version)` read when nothing changed. */
  readonly intervalMs?: number;
  /** Changes read per query, so a burst never loads the whole log at once. */
  readonly batchSize?: number;
}

export class ChangeTail {
  private readonly journal: Journal;
  private readonly intervalMs: number;
  private readonly batchSize: number;
  private catchUp: NodeJS.Immediate | undefined;
  private timer: NodeJS.Timeout | undefined;
  private listener: ChangeTailListener | undefined;
  private position: number;

  constructor(journal: Journal, options: ChangeTailOptions = {}) {
    this.journal = journal;
    this.intervalMs = options.intervalMs ?? 25;
    this.batchSize = options.batchSize ?? 200;
    this.position = journal.version();
  }

  /** The version of the last change handed to the listener. */
  get version(): number {
    return this.position;
  }

  /**
   * Follows the log; `from` moves the tail there first (a journal back after an outage, with no
   * client left that missed what it skips).
   */
  start(listener: ChangeTailListener, from?: number): void {
    if (from !== undefined) this.position = from;
    this.listener = listener;
    this.timer ??= setInterval(() => this.poll(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    if (this.catchUp) clearImmediate(this.catchUp);
    this.timer = undefined;
    this.catchUp = undefined;
    this.listener = undefined;
  }

  /** Reads whatever is new now; the beacon calls it first so its version is the journal's. */
  poll(): void {
    const listener = this.listener;
    if (!listener) return;
    if (listener.onFailure === undefined) {
      this.read(listener);
      return;
    }
    try {
      this.read(listener);
    } catch (error) {
      this.stop();
      listener.onFailure(error);
    }
  }

  private read(listener: ChangeTailListener): void {
    const head = this.journal.version();
    if (head === this.position) return;
    if (head < this.position || this.journal.oldestVersion() > this.position + 1) {
      this.position = head;
      listener.onReset(head);
      return;
    }
    const changes = this.journal.changesSince(this.position, this.batchSize);
    const last = changes.at(-1);
    if (!last) return;
    this.position = last.version;
    listener.onChanges(changes);
    // One batch at a time, with the event loop in between: sockets flush (and slow clients show
    // up as such) between batches, so a burst never sits in memory all at once.
    if (this.position < head && this.catchUp === undefined) {
      this.catchUp = setImmediate(() => {
        this.catchUp = undefined;
        this.poll();
      });
    }
  }
}
