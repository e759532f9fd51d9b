import type { EventBus } from './events.ts';
import type { SlotTicket } from './pipeline.ts';

/**
 * What the dispatcher tells the policy that gave a paced segment its send slot: the slot was
 * written (and how late), or never written. Each kind is published once per tick, for all the
 * segments of that tick. Never throws (the bus isolates its subscribers).
 */
export class SlotReports {
  private written: Array<{ ticket: SlotTicket | undefined; at: number }> = [];
  private unused: Array<SlotTicket | undefined> = [];

  constructor(private readonly bus: EventBus) {}

  /**
   * A paced segment passed its last check and goes to the socket. Timed at the end of this tick,
   * when the carrier's writes of the tick leave together (a long batch makes that tens of ms
   * after the check: bench:limits on the wire saw writes 15–25 ms late that no one had reported).
   */
  wrote(ticket: SlotTicket | undefined, at: number): void {
    // Timed one tick-queue round later: after the carrier's writer has flushed this tick's PDUs
    // to the socket (its flush is queued in this round, before or after ours). Timed before it,
    // a pause between (a scavenge of 6–8 ms on a slow VM) put a write later on the wire than
    // reported: bench:limits saw 31 submits of a 30/s campaign within 997 ms at tshark.
    if (this.written.length === 0) process.nextTick(() => process.nextTick(() => this.publishWritten()));
    this.written.push({ ticket, at });
  }

  private publishWritten(): void {
    const t = Date.now();
    const written = this.written;
    this.written = [];
    this.bus.publish(
      'slot.written',
      written.map((w) => ({ ticket: w.ticket, lateMs: Math.max(0, t - w.at) })),
    );
  }

  /**
   * A paced segment left dispatch without its slot written (withdrawn, re-split, failed to
   * re-encode): the policy gives back what the slot counted (a brand's daily cap).
   */
  unusedSlot(ticket: SlotTicket | undefined): void {
    if (ticket === undefined) return;
    if (this.unused.length === 0)
      process.nextTick(() => {
        const unused = this.unused;
        this.unused = [];
        this.bus.publish(
          'slot.unused',
          unused.map((x) => ({ ticket: x })),
        );
      });
    this.unused.push(ticket);
  }
}
