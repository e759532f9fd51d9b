/**
 * A keyed cache loaded in batches: what a batch asks for and the cache does not hold (or holds
 * longer than `ttlMs`) is loaded in one call. Bounded: past `maxEntries` it starts over. Keys the
 * loader does not return are kept as `missing(key)` when given (so an unknown key is not asked
 * about again within the TTL), else left out.
 */
export class TtlBatchCache<V> {
  private readonly entries = new Map<string, { at: number; v: V }>();

  constructor(
    private readonly load: (keys: readonly string[]) => Promise<Map<string, V>>,
    private readonly ttlMs: number,
    private readonly maxEntries = 10_000,
    private readonly missing?: (key: string) => V,
  ) {}

  /** The values of these keys; rejects when some must be loaded and the loader fails. */
  async get(keys: readonly string[], now = Date.now()): Promise<Map<string, V>> {
    const out = new Map<string, V>();
    const absent: string[] = [];
    for (const k of new Set(keys)) {
      const e = this.entries.get(k);
      if (e && now - e.at < this.ttlMs) out.set(k, e.v);
      else absent.push(k);
    }
    if (absent.length === 0) return out;
    const loaded = await this.load(absent);
    if (this.entries.size + absent.length > this.maxEntries) this.entries.clear();
    for (const k of absent) {
      const v = loaded.get(k) ?? this.missing?.(k);
      if (v === undefined) continue;
      this.entries.set(k, { at: now, v });
      out.set(k, v);
    }
    return out;
  }

  invalidate(key: string): void {
    this.entries.delete(key);
  }
}
