/**
 * The contractual sending limits of US carriers, defined once, and how one sending number's
 * limits are derived from them. Pure: no I/O, no clock but the one passed in.
 *
 * Sources of the defaults (carriers' published 10DLC and toll-free terms; they change, so every
 * value can be overridden per carrier in the carrier file and per number by the operator):
 * - campaign per minute by throughput class: AT&T's 10DLC message class table (TPM per campaign;
 *   A/B 4,500, C/D 2,400, E/F 240, low-volume mixed 75, sole proprietor 15);
 * - brand per day by tier: T-Mobile's 10DLC daily caps (Top 200,000, Upper Mid 40,000, Lower Mid
 *   10,000, Low 2,000, sole proprietor 1,000), reset at midnight US Pacific, shared by all the
 *   brand's campaigns;
 * - per number: toll-free 3 MPS (the industry default for verified toll-free), short code 100 MPS,
 *   local 10DLC numbers 100 MPS (6,000 a minute, a carrier per-number ceiling), mobile 1 MPS.
 */
import { DateTime } from 'luxon';
import type { NumberType } from '../messaging/vocabulary.ts';

export const THROUGHPUT_CLASSES = ['A', 'B', 'C', 'D', 'E', 'F', 'LOW_VOLUME', 'SOLE_PROPRIETOR'] as const;
export type ThroughputClass = (typeof THROUGHPUT_CLASSES)[number];

export interface LimitTable {
  /** Segments per minute of one campaign on one carrier. */
  campaignPerMinute: Record<ThroughputClass, number>;
  /** Segments per day of one brand (all its campaigns, every carrier). */
  brandPerDay: Record<ThroughputClass, number>;
  /** Segments per second of one number. */
  numberPerSecond: Record<NumberType, number>;
}

export const DEFAULT_LIMIT_TABLE: LimitTable = Object.freeze({
  campaignPerMinute: {
    A: 4500,
    B: 4500,
    C: 2400,
    D: 2400,
    E: 240,
    F: 240,
    LOW_VOLUME: 75,
    SOLE_PROPRIETOR: 15,
  },
  brandPerDay: {
    A: 200_000,
    B: 200_000,
    C: 40_000,
    D: 40_000,
    E: 10_000,
    F: 10_000,
    LOW_VOLUME: 2_000,
    SOLE_PROPRIETOR: 1_000,
  },
  numberPerSecond: { toll_free: 3, short_code: 100, local: 100, mobile: 1 },
});

/** Partial overrides (a carrier's, the operator's): any entry replaces the default's. */
export interface LimitOverrides {
  campaignPerMinute?: Partial<Record<ThroughputClass, number>> | undefined;
  brandPerDay?: Partial<Record<ThroughputClass, number>> | undefined;
  numberPerSecond?: Partial<Record<NumberType, number>> | undefined;
}

/** The table with overrides applied (later ones win). */
export function mergeLimits(base: LimitTable, ...overrides: Array<LimitOverrides | undefined>): LimitTable {
  const out: LimitTable = {
    campaignPerMinute: { ...base.campaignPerMinute },
    brandPerDay: { ...base.brandPerDay },
    numberPerSecond: { ...base.numberPerSecond },
  };
  for (const o of overrides) {
    if (!o) continue;
    Object.assign(out.campaignPerMinute, o.campaignPerMinute);
    Object.assign(out.brandPerDay, o.brandPerDay);
    Object.assign(out.numberPerSecond, o.numberPerSecond);
  }
  return out;
}

/** What the store knows about a sending number that its limits depend on. */
export interface SenderProfile {
  e164: string;
  type: NumberType;
  /** Its approved 10DLC campaign (local numbers), with the class it earned. */
  campaignId?: string | undefined;
  throughputClass?: ThroughputClass | undefined;
  brandId?: string | undefined;
  /** The operator's own per-number rate (segments per second), replacing the table's. */
  perSecondOverride?: number | undefined;
}

/**
 * What the SMSC may see of a limit in any sliding second besides the rate: nothing. Slots are
 * spaced so that any `ceil(rate) + 1` of them span at least a second plus this margin, which
 * absorbs what a late write does not report (LATE_TOLERANCE_MS) and the delay from the socket
 * to the SMSC that varies between two submits. Late writes floor the slots they reach, so the
 * margin need not cover the gateway's own pauses (it was 15 ms before they did). The price is
 * this share of an integer rate: 1 % at 10 ms.
 */
export const PACING_MARGIN_MS = 10;

/**
 * How late a write may come after its slot unreported (see lateFloors): the part of the pacing
 * margin the gateway's own event loop may use; the rest (5 ms) is for the way to the SMSC.
 */
export const LATE_TOLERANCE_MS = 5;

/**
 * The latest a write may come after its slot (see RateSpec.lateMs): its report must reach the
 * limiter before the slot a second after it is given, which is up to the slot horizon ahead
 * (limits-policy.ts: HORIZON_MS + MAX_LATE_MS and the report's way stay under a second, tested).
 */
export const MAX_LATE_MS = 200;

/**
 * One rate limit as the limiter keeps it: a slot every `spacingMs` (see rateSpec).
 */
export interface RateSpec {
  key: string;
  kind: 'number' | 'campaign';
  /** The limit as set, segments per second. */
  perSecond: number;
  /** Time between two slots of this limit. */
  spacingMs: number;
  /** The most slots any sliding second may carry: the rate rounded up (at least 1). */
  allowance: number;
  /**
   * A submit written this long after its slot is withdrawn (and asks again): MAX_LATE_MS. Up to
   * it, a late write floors only the slot `allowance` positions after it (see lateFloors), which
   * costs the limit a fraction of a slot; a withdrawal costs a whole one. (When a late write moved
   * every later slot, withdrawing past a spacing was cheaper: on the slowest VM 740 slots a
   * minute were withdrawn, the fast limits 2.2–2.8 % under their rate.)
   */
  lateMs: number;
}

/**
 * A rate in segments per second as evenly spaced send slots: one every `1000 / rate` ms, or
 * wider where that would let `ceil(rate) + 1` slots fall within a second and the pacing margin
 * (integer rates: a second's `rate` slots span 1 s + 10 ms). So no sliding second ever carries
 * more than the rate rounded up, also after the delay a submit takes to the wire, and the
 * long-run rate is the rate (fractional rates: 75 a minute is a slot every 800 ms) or 1 % under
 * it (integer rates, 1 %). Why slots and not a bucket: a token bucket one refill deep lets a second
 * carry its rate plus one refill (bench:limits: 128 limits over their allowance), and a sliding
 * log loses every delay between a slot freeing and the dispatcher coming back (2–5 % under).
 */
export function rateSpec(key: string, kind: RateSpec['kind'], perSecond: number): RateSpec {
  if (!(perSecond > 0) || !Number.isFinite(perSecond))
    throw new RangeError(`rate of ${key} must be positive`);
  const allowance = Math.max(1, Math.ceil(perSecond - 1e-9));
  const spacingMs = Math.max(1000 / perSecond, (1000 + PACING_MARGIN_MS) / allowance);
  return { key, kind, perSecond, spacingMs, allowance, lateMs: MAX_LATE_MS };
}

/** A brand's daily cap, counted by our own durable counter (see DailyCaps). */
export interface DailyCap {
  brandId: string;
  cap: number;
}

/**
 * The limits one segment from `sender` routed to `carrierId` is under, tightest source first:
 * the number's rate, its campaign's rate on that carrier, its brand's daily cap. Numbers without
 * a campaign (toll-free, short codes, unregistered when the gate is off) have the number's only.
 */
export function limitsFor(
  sender: SenderProfile,
  carrierId: string,
  table: LimitTable,
): { rates: RateSpec[]; daily: DailyCap | undefined } {
  const perSecond = sender.perSecondOverride ?? table.numberPerSecond[sender.type];
  const rates = [rateSpec(`n:${sender.e164}`, 'number', perSecond)];
  let daily: DailyCap | undefined;
  if (sender.campaignId && sender.throughputClass) {
    const perMinute = table.campaignPerMinute[sender.throughputClass];
    rates.push(rateSpec(`c:${sender.campaignId}:${carrierId}`, 'campaign', perMinute / 60));
    if (sender.brandId) daily = { brandId: sender.brandId, cap: table.brandPerDay[sender.throughputClass] };
  }
  return { rates, daily };
}

const PACIFIC = 'America/Los_Angeles';

/** The US Pacific calendar day of `at` (YYYY-MM-DD): the day a daily cap counts in. */
export function pacificDay(at: Date): string {
  return DateTime.fromJSDate(at, { zone: PACIFIC }).toISODate()!;
}

/** The next midnight US Pacific after `at` (daylight saving included): when daily caps reset. */
export function nextPacificMidnight(at: Date): Date {
  return DateTime.fromJSDate(at, { zone: PACIFIC }).startOf('day').plus({ days: 1 }).toJSDate();
}

/**
 * The class a campaign sends in: a LOW_VOLUME or SOLE_PROPRIETOR use case has its own; otherwise
 * the class its brand earned at vetting. Undefined when the brand has none (not approved).
 */
export function campaignClass(
  useCase: string,
  brandClass: string | null | undefined,
): ThroughputClass | undefined {
  if (useCase === 'LOW_VOLUME') return 'LOW_VOLUME';
  if (useCase === 'SOLE_PROPRIETOR') return 'SOLE_PROPRIETOR';
  return (THROUGHPUT_CLASSES as readonly string[]).includes(brandClass ?? '')
    ? (brandClass as ThroughputClass)
    : undefined;
}
