export interface BatcherOptions {
  /** Flush when this many items have gathered. */
  maxItems: number;
  /** Flush at the latest this long after the first item of a batch arrived. */
  maxDelayMs: number;
  /** Flushes running at once; a slow database thereby applies backpressure. */
  concurrency: number;
  /**
   * Items held (waiting and being written) above which `add` refuses at once with
   * BatcherFullError, so memory stays bounded whatever the input rate. Default: unbounded.
   */
  maxPending?: number;
  /**
   * Whether a flush error is caused by the data of some item(s) rather than by the database
   * being unavailable. Such a batch is split in halves and retried, so the item at fault fails
   * alone and every other item is written.
   */
  isolate?: (err: unknown) => boolean;
}

/** `add` refused: the writer already holds `maxPending` items. */
export class BatcherFullError extends Error {
  constructor(readonly pending: number) {
    super(`writer full (${pending} items pending)`);
    this.name = 'BatcherFullError';
  }
}

interface Waiter<R> {
  resolve: (r: R) => void;
  reject: (e: unknown) => void;
}

/**
 * Coalesces writes from many callers into one database round trip: items wait at most
 * `maxDelayMs` or until `maxItems` have gathered, then one `flush` handles them all. Each
 * caller's promise settles with its item's result, or rejects with the error of the flush that
 * wrote it; with `isolate`, a data error fails only the item that caused it.
 */
export class Batcher<T, R> {
  private items: T[] = [];
  private waiters: Array<Waiter<R>> = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private inFlight = 0;
  private readonly idle: Array<() => void> = [];
  /** Items that failed alone after isolation (their own data was refused). */
  isolated = 0;

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly opts: BatcherOptions,
  ) {}

  /** Items waiting or being written. */
  get pending(): number {
    return this.items.length + this.inFlight;
  }

  get full(): boolean {
    return this.opts.maxPending !== undefined && this.pending >= this.opts.maxPending;
  }

  /** Adds one item. Rejects with BatcherFullError at once when `maxPending` items are held. */
  add(item: T): Promise<R> {
    if (this.full) return Promise.reject(new BatcherFullError(this.pending));
    const p = this.push(item);
    this.schedule();
    return p;
  }

  /** Adds several items, kept in one flush when they fit; each settles on its own. */
  addAll(items: readonly T[]): Promise<PromiseSettledResult<R>[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.opts.maxPending !== undefined && this.pending + items.length > this.opts.maxPending)
      return Promise.reject(new BatcherFullError(this.pending));
    if (this.items.length + items.length > this.opts.maxItems) this.kick();
    const ps = items.map((i) => this.push(i));
    this.schedule();
    return Promise.allSettled(ps);
  }

  /** Resolves once everything added so far has been written (or failed). */
  async drain(): Promise<void> {
    while (this.items.length > 0 || this.running > 0) {
      if (this.items.length > 0) this.kick();
      await new Promise<void>((r) => this.idle.push(r));
    }
  }

  private push(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
    });
  }

  private schedule(): void {
    if (this.items.length >= this.opts.maxItems) this.kick();
    else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.opts.maxDelayMs);
  }

  private kick(): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.items.length === 0 || this.running >= this.opts.concurrency) return;
    const items = this.items.splice(0, this.opts.maxItems);
    const waiters = this.waiters.splice(0, items.length);
    this.running++;
    this.inFlight += items.length;
    void this.write(items, waiters).finally(() => {
      this.running--;
      this.inFlight -= items.length;
      if (this.items.length > 0) {
        if (this.items.length >= this.opts.maxItems || !this.timer) this.kick();
      }
      for (const r of this.idle.splice(0)) r();
    });
  }

  /** Writes items; on an isolatable error, halves and retries until the bad items stand alone. */
  private async write(items: T[], waiters: Array<Waiter<R>>): Promise<void> {
    let results: R[];
    try {
      results = await this.flushFn(items);
    } catch (err) {
      if (this.opts.isolate?.(err)) {
        if (items.length === 1) {
          this.isolated++;
          waiters[0]!.reject(err);
          return;
        }
        const mid = items.length >> 1;
        await this.write(items.slice(0, mid), waiters.slice(0, mid));
        await this.write(items.slice(mid), waiters.slice(mid));
        return;
      }
      for (const w of waiters) w.reject(err);
      return;
    }
    for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(results[i] as R);
  }
}
