/**
 * Coalesces writes from many callers into one database round trip: items wait at most
 * `maxDelayMs` or until `maxItems` have gathered, then one `flush` handles them all. At most
 * `concurrency` flushes run at once, so a slow database applies backpressure instead of piling up
 * connections. Each caller's promise settles with its item's result, or rejects with the flush's
 * error (nothing is half-written: a flush is one transaction).
 */
export class Batcher<T, R> {
  private items: T[] = [];
  private waiters: Array<{ resolve: (r: R) => void; reject: (e: unknown) => void }> = [];
  private timer: NodeJS.Timeout | undefined;
  private running = 0;
  private readonly idle: Array<() => void> = [];

  constructor(
    private readonly flushFn: (items: T[]) => Promise<R[]>,
    private readonly opts: { maxItems: number; maxDelayMs: number; concurrency: number },
  ) {}

  get pending(): number {
    return this.items.length;
  }

  add(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
      if (this.items.length >= this.opts.maxItems) this.kick();
      else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.opts.maxDelayMs);
    });
  }

  /** Adds several items that must be written in the same flush (one transaction). */
  addAll(items: T[]): Promise<R[]> {
    if (items.length === 0) return Promise.resolve([]);
    if (this.items.length + items.length > this.opts.maxItems) this.kick(true);
    const ps = items.map((i) => this.addNoKick(i));
    if (this.items.length >= this.opts.maxItems) this.kick(true);
    else if (!this.timer) this.timer = setTimeout(() => this.kick(), this.opts.maxDelayMs);
    return Promise.all(ps);
  }

  private addNoKick(item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.items.push(item);
      this.waiters.push({ resolve, reject });
    });
  }

  /** Resolves once everything added so far has been flushed. */
  async drain(): Promise<void> {
    while (this.items.length > 0 || this.running > 0) {
      if (this.items.length > 0) this.kick(true);
      await new Promise<void>((r) => this.idle.push(r));
    }
  }

  private kick(force = false): void {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (this.items.length === 0) return;
    if (this.running >= this.opts.concurrency && !force) return;
    if (this.running >= this.opts.concurrency) return;
    const items = this.items;
    const waiters = this.waiters;
    this.items = [];
    this.waiters = [];
    this.running++;
    this.flushFn(items)
      .then(
        (results) => {
          for (let i = 0; i < waiters.length; i++) waiters[i]!.resolve(results[i] as R);
        },
        (err) => {
          for (const w of waiters) w.reject(err);
        },
      )
      .finally(() => {
        this.running--;
        if (this.items.length > 0) {
          if (this.items.length >= this.opts.maxItems || !this.timer) this.kick();
        }
        for (const r of this.idle.splice(0)) r();
      });
  }
}
