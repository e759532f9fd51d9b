export interface WindowEntry<T> {
  seq: number;
  sentAt: number;
  deadline: number;
  ctx: T;
}

/**
 * Outstanding requests of one session, keyed by sequence number, with a cap and a per-request
 * response deadline. Pure data structure: the session supplies the clock and sweeps `expire`.
 * Entries are kept in send order, and with one timeout per window that is also deadline order,
 * so expiring is O(expired).
 */
export class SendWindow<T> {
  private readonly entries = new Map<number, WindowEntry<T>>();

  constructor(
    private cap: number,
    readonly timeoutMs: number,
  ) {
    if (!(cap >= 1)) throw new RangeError('window cap must be at least 1');
  }

  get size(): number {
    return this.entries.size;
  }

  get capacity(): number {
    return this.cap;
  }

  /** Requests that can be sent now. */
  get free(): number {
    return Math.max(0, this.cap - this.entries.size);
  }

  /** Lowers or raises the cap; entries already outstanding stay until answered or expired. */
  setCapacity(cap: number): void {
    this.cap = Math.max(1, Math.floor(cap));
  }

  /** Registers a sent request. Throws when full or when `seq` is already outstanding (a caller bug). */
  add(seq: number, ctx: T, now: number): WindowEntry<T> {
    if (this.entries.size >= this.cap) throw new RangeError('send window is full');
    if (this.entries.has(seq)) throw new RangeError(`sequence ${seq} already outstanding`);
    const e = { seq, sentAt: now, deadline: now + this.timeoutMs, ctx };
    this.entries.set(seq, e);
    return e;
  }

  /** Takes the entry a response answers; undefined for a late or unknown response. */
  complete(seq: number): WindowEntry<T> | undefined {
    const e = this.entries.get(seq);
    if (e) this.entries.delete(seq);
    return e;
  }

  /** Removes and returns every entry whose deadline has passed. */
  expire(now: number): WindowEntry<T>[] {
    const out: WindowEntry<T>[] = [];
    for (const e of this.entries.values()) {
      if (e.deadline > now) break;
      out.push(e);
    }
    for (const e of out) this.entries.delete(e.seq);
    return out;
  }

  /** Removes and returns everything (session closing). */
  drain(): WindowEntry<T>[] {
    const out = [...this.entries.values()];
    this.entries.clear();
    return out;
  }
}
