/**
 * The tickets of the slots the rate-limit policy gives, and what comes back on them: the brands'
 * daily cap of slots never written, and the late writes worth reporting to the limiter.
 */

import type { GatewayEvents } from '../messaging/events.ts';
import { LATE_TOLERANCE_MS } from './policy-table.ts';
import type { DailyReturn, LimitsStore } from './ports.ts';
import type { LateWrite, SlotMarks } from './slots.ts';

/**
 * The ticket of a slot this policy gave: the `index`-th slot of a reservation, and the brand's
 * daily cap it was counted against (given back when the slot goes unused).
 */
export interface LimitsTicket {
  readonly [k: string]: unknown;
  marks: SlotMarks;
  index: number;
  daily?: { brandId: string; day: string };
}

/**
 * The daily-cap segments of slots that were never written (withdrawn, stale, re-split): per day,
 * per brand, how many to give back. Tickets of other policies, or without a daily cap, are skipped.
 */
export function unusedDailyOf(
  tickets: ReadonlyArray<GatewayEvents['slot.unused']['ticket']>,
): Map<string, DailyReturn[]> {
  const per = new Map<string, Map<string, number>>();
  for (const ticket of tickets) {
    const d = (ticket as Partial<LimitsTicket> | undefined)?.daily;
    if (!d || typeof d.brandId !== 'string' || typeof d.day !== 'string') continue;
    const brands = per.get(d.day) ?? new Map<string, number>();
    per.set(d.day, brands);
    brands.set(d.brandId, (brands.get(d.brandId) ?? 0) + 1);
  }
  const out = new Map<string, DailyReturn[]>();
  for (const [day, brands] of per)
    out.set(
      day,
      [...brands].map(([brandId, want]) => ({ brandId, want })),
    );
  return out;
}

/**
 * Collects unused slots' tickets and gives their daily cap back in one statement per day every
 * `everyMs` (one per tick was 1,364 statements a minute at bench:limits `--scale 1`, each
 * queued on the brands' row locks). `flush` gives back what is pending (at stop).
 */
export class DailyReturns {
  private pending: Array<GatewayEvents['slot.unused']['ticket']> = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: LimitsStore,
    private readonly onFailed: (err: unknown) => void,
    private readonly everyMs = 250,
  ) {}

  add(tickets: ReadonlyArray<GatewayEvents['slot.unused']['ticket']>): void {
    for (const t of tickets) if ((t as Partial<LimitsTicket> | undefined)?.daily) this.pending.push(t);
    if (this.pending.length > 0 && this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.everyMs);
      this.timer.unref();
    }
  }

  /** Gives back what is pending. Never rejects. */
  flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const tickets = this.pending;
    this.pending = [];
    this.flushing = this.flushing.then(() => returnUnusedDaily(this.store, tickets, this.onFailed));
    return this.flushing;
  }
}

/**
 * Gives the brands' daily cap back for slots that were never written: counted at reservation,
 * a withdrawn slot would otherwise use up the cap without a message (bench:limits: 32–37 of a
 * 400 cap per run). Never rejects; a failure is told to `onFailed` and leaves them counted (the
 * cap errs on the carrier's side).
 */
export async function returnUnusedDaily(
  store: LimitsStore,
  tickets: ReadonlyArray<GatewayEvents['slot.unused']['ticket']>,
  onFailed?: (err: unknown) => void,
): Promise<void> {
  for (const [day, takes] of unusedDailyOf(tickets))
    await store.returnDaily(day, takes).catch((err: unknown) => onFailed?.(err));
}

/**
 * The late writes of `slot.written` events worth reporting to the limiter: those later than the
 * tolerance (by how much more), of tickets this policy gave (others are ignored).
 */
export function lateWritesOf(events: readonly GatewayEvents['slot.written'][]): LateWrite[] {
  const out: LateWrite[] = [];
  for (const e of events) {
    const t = (e.ticket ?? {}) as Partial<LimitsTicket>;
    if (!(e.lateMs > LATE_TOLERANCE_MS) || typeof t.index !== 'number' || !t.marks) continue;
    out.push({ marks: t.marks, index: t.index, lateMs: e.lateMs - LATE_TOLERANCE_MS });
  }
  return out;
}
