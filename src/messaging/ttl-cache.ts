/**
 * A keyed cache loaded in batches: what a batch asks for and the cache does not hold (or holds
 * longer than `ttlMs`) is loaded in one call. Bounded: past `maxEntries` it starts over. Keys the
 * loader does not return are kept as `missing(key)` when given (so an unknown key is not asked
 * about again within the TTL), else left out.
 *
 * Under load many requests ask for one key at the instant it expires; each used to load it, and
 * that herd took a pool connection per request (every 5 s, up to 16 at once, stalling the accept
 * path). So a key is loaded by one call at a time (callers that need it meanwhile share that
 * call), and a key read after 3/4 of its TTL is refreshed in the background while its cached
 * value, still within the TTL, is answered: no value older than `ttlMs` is ever answered.
 */
export class TtlBatchCache<V> {
  private readonly entries = new Map<string, { at: number; v: V }>();
  private readonly loading = new Map<string, Promise<V | undefined>>();
  private readonly refreshAfterMs: number;

  constructor(
    private readonly load: (keys: readonly string[]) => Promise<Map<string, V>>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly missing?: (key: string) => V,
  ) {
    this.refreshAfterMs = (ttlMs * 3) / 4;
  }

  /** The values of these keys; rejects when some must be loaded and the loader fails. */
  async get(keys: readonly string[], now = Date.now()): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    const waits: Array<Promise<void>> = [];
    const absent: string[] = [];
    const stale: string[] = [];
    for (const k of new Set(keys)) {
      const e = this.entries.get(k);
      const age = e === undefined ? Number.POSITIVE_INFINITY : now - e.at;
      if (e && age < this.ttlMs) {
        out.set(k, e.v);
        if (age >= this.refreshAfterMs && !this.loading.has(k)) stale.push(k);
        continue;
      }
      const pending = this.loading.get(k);
      if (pending !== undefined)
        waits.push(
          pending.then((v) => {
            if (v !== undefined) out.set(k, v);
          }),
        );
      else absent.push(k);
    }
    // A failed refresh answers nobody: the entry expires at its TTL and a caller then sees the error.
    if (stale.length > 0) this.startLoad(stale, now).catch(() => undefined);
    if (absent.length > 0)
      waits.push(
        this.startLoad(absent, now).then((loaded) => {
          for (const k of absent) {
            const v = loaded.get(k);
            if (v !== undefined) out.set(k, v);
          }
        }),
      );
    // One await for all: a failed load rejects this call, and no sibling promise is left unhandled.
    if (waits.length > 0) await Promise.all(waits);
    return out;
  }

  /** Loads `keys` as one call that later callers of these keys share; stores what it returns. */
  private startLoad(keys: readonly string[], now: number): Promise<Map<string, V>> {
    const perKey = new Map<string, Promise<V | undefined>>();
    const batch = this.load(keys).then((loaded) => {
      if (this.entries.size + keys.length > this.maxEntries) this.entries.clear();
      const values = new Map<string, V>();
      for (const k of keys) {
        const v = loaded.get(k) ?? this.missing?.(k);
        if (v === undefined) continue;
        // An invalidation while the load ran wins: the value may predate the change.
        if (this.loading.get(k) === perKey.get(k)) this.entries.set(k, { at: now, v });
        values.set(k, v);
      }
      return values;
    });
    for (const k of keys) {
      const p = batch.then((m) => m.get(k));
      // Sharers see the loader's error through their own await; this copy must not go unhandled.
      p.catch(() => undefined);
      perKey.set(k, p);
      this.loading.set(k, p);
    }
    const done = () => {
      for (const [k, p] of perKey) if (this.loading.get(k) === p) this.loading.delete(k);
    };
    batch.then(done, done);
    return batch;
  }

  invalidate(key: string): void {
    this.entries.delete(key);
    this.loading.delete(key);
  }
}
