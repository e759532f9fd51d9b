/**
 * The moment a contact opts out, submits to them stop everywhere: before the opt-out is
 * committed, every instance is told (in-process, and through the bus to the others) to withdraw
 * any submit from one of the account's numbers to that contact that has not been written yet.
 * The dispatch policy, reading the committed state, decides about everything claimed after.
 */

/** Blocked (sending number, contact) pairs with an expiry; bounded. */
export class OptOutGate {
  private readonly blocked = new Map<string, number>();
  /** Compliance replies (the opt-out confirmation itself) pass the gate. */
  private readonly exempt = new Map<string, number>();

  constructor(
    /** How long a pair stays blocked in memory; after that the database decides alone. */
    private readonly ttlMs = 600_000,
    private readonly maxEntries = 200_000,
  ) {}

  get size(): number {
    return this.blocked.size;
  }

  block(
    numbers: readonly string[],
    contact: string,
    exemptIds: readonly string[] = [],
    now = Date.now(),
  ): void {
    for (const id of exemptIds) {
      if (this.exempt.size >= this.maxEntries) this.exempt.delete(this.exempt.keys().next().value!);
      this.exempt.set(id, now + this.ttlMs);
    }
    for (const n of numbers) {
      const k = `${n}\u0000${contact}`;
      this.blocked.delete(k);
      if (this.blocked.size >= this.maxEntries) this.blocked.delete(this.blocked.keys().next().value!);
      this.blocked.set(k, now + this.ttlMs);
    }
  }

  unblock(numbers: readonly string[], contact: string): void {
    for (const n of numbers) this.blocked.delete(`${n}\u0000${contact}`);
  }

  /** Whether message `messageId`'s submit from `from` to `to` may still be written. */
  allows(messageId: string, from: string, to: string, now = Date.now()): boolean {
    if (this.blocked.size === 0) return true;
    const k = `${from}\u0000${to}`;
    const until = this.blocked.get(k);
    if (until === undefined) return true;
    if (until <= now) {
      this.blocked.delete(k);
      return true;
    }
    // An exemption is for the opt-out that made it: a later block does not inherit it.
    const exemptUntil = this.exempt.get(messageId);
    return exemptUntil !== undefined && exemptUntil > now;
  }
}
