/**
 * Link liveness for one bound session (SMPP 3.4 §4.11 enquire_link): one probe at a time, sent
 * every `intervalMs`; a probe unanswered within `timeoutMs` is missed and the next goes at once,
 * so a silently dead link is found after `maxMissed` × `timeoutMs`. Pure state: the session
 * sends and closes.
 */
export class LinkLiveness {
  private seq: number | undefined;
  private sentAt = 0;
  private missed = 0;
  private lastAt = 0;

  constructor(
    private readonly o: { intervalMs: number; timeoutMs: number; maxMissed: number; healthyMs: number },
  ) {}

  /** The bind succeeded: the interval counts from now. */
  start(now: number): void {
    this.lastAt = now;
  }

  /** Probes went unanswered: submits should wait for the link to prove itself. */
  get missing(): boolean {
    return this.missed > 0;
  }

  /** No probe missed, and none outstanding for longer than `healthyMs`. */
  healthy(now: number): boolean {
    return this.missed === 0 && !(this.seq !== undefined && now - this.sentAt > this.o.healthyMs);
  }

  /**
   * An enquire_link_resp (or a generic_nack, which proves the link as well) with this sequence
   * number. Returns true when the link had missed probes (it is usable again).
   */
  answered(seq: number): boolean {
    const wasMissing = this.missed > 0;
    if (seq === this.seq) this.seq = undefined;
    this.missed = 0;
    return wasMissing;
  }

  /** Whether `seq` is the outstanding probe. */
  isProbe(seq: number): boolean {
    return seq === this.seq;
  }

  /**
   * What to do at `now`: send a probe (the caller passes its sequence number to `sent`), declare
   * the link dead (with the number of probes missed), or nothing.
   */
  tick(now: number): 'send' | 'dead' | 'wait' {
    let send = now - this.lastAt >= this.o.intervalMs;
    if (this.seq !== undefined) {
      if (now - this.sentAt <= this.o.timeoutMs) return 'wait';
      this.seq = undefined;
      this.missed++;
      if (this.missed >= this.o.maxMissed) return 'dead';
      send = true;
    }
    return send ? 'send' : 'wait';
  }

  sent(seq: number, now: number): void {
    this.seq = seq;
    this.lastAt = now;
    this.sentAt = now;
  }

  get missedCount(): number {
    return this.missed;
  }
}
