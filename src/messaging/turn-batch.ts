/**
 * Gathers the calls made during one turn of the event loop, by key, and serves them with one
 * batch call: what arrives while Node reads several sockets in one poll phase is decided together
 * (the batch runs in the check phase of that same turn, so no timer delay is added).
 */
export class TurnBatch<K, T, R> {
  private readonly waiting = new Map<
    K,
    Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }>
  >();

  /**
   * @param run answers a batch, one result per item in order. When it throws and `isolate(err)`
   *   says the error may belong to one item (a bug, not an outage), each item is run again alone,
   *   so that only the item at fault fails; otherwise every item of the batch gets the error.
   */
  constructor(
    private readonly run: (key: K, items: T[]) => Promise<R[]>,
    private readonly isolate: (err: unknown) => boolean,
  ) {}

  /** This item's result; rejects with the error of its batch (or of its own run, see `isolate`). */
  add(key: K, item: T): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      let q = this.waiting.get(key);
      if (q === undefined) {
        q = [];
        this.waiting.set(key, q);
        setImmediate(() => {
          const batch = this.waiting.get(key)!;
          this.waiting.delete(key);
          void this.settle(key, batch);
        });
      }
      q.push({ item, resolve, reject });
    });
  }

  private async settle(
    key: K,
    batch: Array<{ item: T; resolve: (r: R) => void; reject: (e: unknown) => void }>,
  ): Promise<void> {
    let out: R[];
    try {
      out = await this.run(
        key,
        batch.map((x) => x.item),
      );
    } catch (err) {
      if (batch.length === 1 || !this.isolate(err)) {
        for (const x of batch) x.reject(err);
        return;
      }
      for (const x of batch) this.run(key, [x.item]).then((r) => x.resolve(r[0]!), x.reject);
      return;
    }
    for (const [i, x] of batch.entries()) x.resolve(out[i]!);
  }
}
