import type { Redis } from 'ioredis';
import type { ReceiptUpdate } from '../store/dispatch-repo.ts';

/**
 * Where receipts wait when their segment's id is not stored yet (receipt before submit_sm_resp,
 * another bind, another instance). `take` returns parked receipts for ids that just became known.
 */
export interface ReceiptParking {
  park(r: ReceiptUpdate, ttlMs: number): Promise<void>;
  /** Removes and returns receipts parked under any of these (carrier, key) pairs. */
  take(pairs: Array<{ carrierId: string; key: string }>): Promise<ReceiptUpdate[]>;
  /** Removes and returns receipts whose TTL passed, for counting and logging. */
  expired(now: number): Promise<ReceiptUpdate[]>;
  /** Receipts parked by this instance and still waiting, for periodic re-matching. */
  local(): ReceiptUpdate[];
  readonly size: number;
}

const keyOf = (carrierId: string, key: string) => `${carrierId}\u0000${key}`;

/** In-process parking (single instance, no REDIS_URL). */
export class MemoryParking implements ReceiptParking {
  private readonly byKey = new Map<string, { r: ReceiptUpdate; until: number }>();
  private readonly all = new Set<{ r: ReceiptUpdate; until: number }>();

  get size(): number {
    return this.all.size;
  }

  async park(r: ReceiptUpdate, ttlMs: number): Promise<void> {
    const e = { r, until: Date.now() + ttlMs };
    this.all.add(e);
    for (const k of r.idKeys) this.byKey.set(keyOf(r.carrierId, k), e);
  }

  async take(pairs: Array<{ carrierId: string; key: string }>): Promise<ReceiptUpdate[]> {
    const out = new Set<{ r: ReceiptUpdate; until: number }>();
    for (const p of pairs) {
      const e = this.byKey.get(keyOf(p.carrierId, p.key));
      if (e) out.add(e);
    }
    for (const e of out) this.remove(e);
    return [...out].map((e) => e.r);
  }

  async expired(now: number): Promise<ReceiptUpdate[]> {
    const out: ReceiptUpdate[] = [];
    for (const e of this.all) {
      if (e.until > now) continue;
      this.remove(e);
      out.push(e.r);
    }
    return out;
  }

  local(): ReceiptUpdate[] {
    return [...this.all].map((e) => e.r);
  }

  private remove(e: { r: ReceiptUpdate; until: number }): void {
    this.all.delete(e);
    for (const k of e.r.idKeys)
      if (this.byKey.get(keyOf(e.r.carrierId, k)) === e) this.byKey.delete(keyOf(e.r.carrierId, k));
  }
}

/**
 * Redis parking shared by every instance: one key per (carrier, id key) holding the receipt JSON,
 * with a TTL. The local copy lets this instance re-try its own receipts and count expiries; when
 * another instance takes a receipt first, the local copy's retry simply finds nothing.
 */
export class RedisParking implements ReceiptParking {
  private readonly mine = new MemoryParking();

  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

  get size(): number {
    return this.mine.size;
  }

  async park(r: ReceiptUpdate, ttlMs: number): Promise<void> {
    const json = JSON.stringify(r);
    const m = this.redis.multi();
    for (const k of r.idKeys) m.set(`${this.prefix}park:${keyOf(r.carrierId, k)}`, json, 'PX', ttlMs);
    await m.exec();
    await this.mine.park(r, ttlMs);
  }

  async take(pairs: Array<{ carrierId: string; key: string }>): Promise<ReceiptUpdate[]> {
    if (pairs.length === 0) return [];
    const keys = pairs.map((p) => `${this.prefix}park:${keyOf(p.carrierId, p.key)}`);
    const m = this.redis.multi();
    for (const k of keys) m.getdel(k);
    const res = (await m.exec()) ?? [];
    const seen = new Set<string>();
    const out: ReceiptUpdate[] = [];
    for (const [err, v] of res) {
      if (err || typeof v !== 'string' || seen.has(v)) continue;
      seen.add(v);
      out.push(JSON.parse(v) as ReceiptUpdate);
    }
    await this.mine.take(pairs);
    return out;
  }

  async expired(now: number): Promise<ReceiptUpdate[]> {
    return this.mine.expired(now);
  }

  local(): ReceiptUpdate[] {
    return this.mine.local();
  }
}
