import type { LiveEvent, LiveEventStore } from './live-events.ts';

/** Where a subscriber's events go (an SSE connection). */
export interface LiveSink {
  /**
   * Takes events in order. False: the sink cannot keep up (it holds too many unsent) and has
   * closed itself; its client resumes with Last-Event-ID and misses nothing.
   */
  push(events: readonly LiveEvent[]): boolean;
  /** Older events were pruned: the client should reload its state, then follow on. */
  truncated(oldest: number): void;
  /** The instance stops: close the connection (the client reconnects elsewhere and resumes). */
  end(): void;
}

export interface LiveInboxOptions {
  /** Each account with subscribers is read at least this often (a lost notification costs at most this). */
  pollMs: number;
  /** Events read per query. */
  readLimit: number;
  /** Subscribers per instance above which new ones are refused (TOO_MANY_SUBSCRIBERS). */
  maxSubscribers: number;
}

interface Subscriber {
  cursor: number;
  sink: LiveSink;
}

interface Feed {
  subs: Set<Subscriber>;
  reading: boolean;
  again: boolean;
}

/**
 * The live inbox of one instance: per account with subscribers, one reader of the event log that
 * serves all of them. A notification (an event was committed, here or on another instance)
 * makes it read what follows the lowest cursor; concurrent notifications coalesce into one read.
 * Subscribers resume from any event number; events come from PostgreSQL, never from memory, so a
 * client connected to another instance than the one that stored the MO sees the same sequence.
 */
export class LiveInbox {
  private readonly feeds = new Map<string, Feed>();
  private readonly timer: NodeJS.Timeout;
  private count = 0;
  readonly stats = { reads: 0, readErrors: 0, delivered: 0, slowClosed: 0 };

  constructor(
    private readonly store: LiveEventStore,
    private readonly opts: LiveInboxOptions,
    private readonly onError: (err: unknown, accountId: string) => void,
  ) {
    this.timer = setInterval(() => {
      for (const id of this.feeds.keys()) this.notify(id);
    }, opts.pollMs);
    this.timer.unref();
  }

  get subscribers(): number {
    return this.count;
  }

  /** Accounts with subscribers here (each has one reader). */
  get accounts(): number {
    return this.feeds.size;
  }

  get full(): boolean {
    return this.count >= this.opts.maxSubscribers;
  }

  /**
   * Subscribes from event number `after` (undefined: from now). Rejects with a database error
   * when the log cannot be read. Resolves with the unsubscribe function and the number the
   * subscriber starts after.
   */
  async subscribe(
    accountId: string,
    after: number | undefined,
    sink: LiveSink,
  ): Promise<{ unsubscribe: () => void; cursor: number }> {
    const h = await this.store.head(accountId);
    let cursor = after === undefined ? h.head : Math.min(after, h.head);
    if (after !== undefined && h.oldest !== null && after < h.oldest - 1) {
      sink.truncated(h.oldest);
      cursor = h.oldest - 1;
    }
    const sub: Subscriber = { cursor, sink };
    let feed = this.feeds.get(accountId);
    if (!feed) {
      feed = { subs: new Set(), reading: false, again: false };
      this.feeds.set(accountId, feed);
    }
    feed.subs.add(sub);
    this.count++;
    if (cursor < h.head) this.notify(accountId);
    const unsubscribe = () => {
      if (!feed.subs.delete(sub)) return; // closed for being slow, or unsubscribed before
      this.count--;
      this.dropIfEmpty(accountId, feed);
    };
    return { unsubscribe, cursor };
  }

  /** Something was appended to the account's log: read it (if anyone here listens). */
  notify(accountId: string): void {
    const feed = this.feeds.get(accountId);
    if (!feed) return;
    if (feed.reading) {
      feed.again = true;
      return;
    }
    feed.reading = true;
    void this.pump(accountId, feed);
  }

  private async pump(accountId: string, feed: Feed): Promise<void> {
    try {
      do {
        feed.again = false;
        if (feed.subs.size === 0) break;
        let from = Number.POSITIVE_INFINITY;
        for (const s of feed.subs) from = Math.min(from, s.cursor);
        this.stats.reads++;
        const events = await this.store.read(accountId, from, this.opts.readLimit);
        if (events.length === 0) break;
        for (const s of [...feed.subs]) {
          const start = events.findIndex((e) => e.seq > s.cursor);
          if (start < 0) continue;
          const mine = start === 0 ? events : events.slice(start);
          s.cursor = mine[mine.length - 1]!.seq;
          this.stats.delivered += mine.length;
          if (!s.sink.push(mine)) {
            this.stats.slowClosed++;
            feed.subs.delete(s);
            this.count--;
          }
        }
        if (events.length === this.opts.readLimit) feed.again = true;
      } while (feed.again);
    } catch (err) {
      // The poll timer tries again; subscribers keep their cursors, so nothing is skipped.
      this.stats.readErrors++;
      this.onError(err, accountId);
    } finally {
      feed.reading = false;
      this.dropIfEmpty(accountId, feed);
    }
  }

  private dropIfEmpty(accountId: string, feed: Feed): void {
    if (feed.subs.size === 0 && !feed.reading && this.feeds.get(accountId) === feed)
      this.feeds.delete(accountId);
  }

  /** Ends every subscription (their sinks close) and stops polling. */
  close(): void {
    clearInterval(this.timer);
    for (const f of this.feeds.values()) for (const s of f.subs) s.sink.end();
    this.feeds.clear();
    this.count = 0;
  }
}
