/**
 * The rate-limit policy at dispatch: every claimed segment still going after the other policies
 * gets a send slot under its number's rate and its campaign's rate on the carrier it is routed to
 * (one reservation per sender and batch, see rate-limiter.ts), and a share of its brand's daily
 * cap. Those with a slot within the horizon are allowed at that slot (the dispatcher writes them
 * then, reports one written late, which floors the slot a second after it, and withdraws one that
 * would go out too late); the rest wait in the database (deferred, no lease held), spread one
 * slot apart so they come back before their slot, not all at once.
 */

import type { GatewayEvents } from '../messaging/events.ts';
import type { ClaimedSegment } from '../messaging/model.ts';
import { ALLOW, type Decision, type Policy } from '../messaging/pipeline.ts';
import { TtlBatchCache } from '../messaging/ttl-cache.ts';
import {
  type DailyCap,
  type LimitTable,
  limitsFor,
  nextPacificMidnight,
  pacificDay,
  type RateSpec,
  type SenderProfile,
} from './policy-table.ts';
import type { DailyTake, LimitsStore } from './ports.ts';
import { type LimitsTicket, returnUnusedDaily } from './slot-tickets.ts';
import type { RateLimiter, Reservation } from './slots.ts';

/** Which limit held segments back, for counting. */
export type LimitKind = 'number' | 'campaign' | 'brand_daily';

export interface LimitsPolicyDeps {
  store: LimitsStore;
  limiter: RateLimiter;
  /** The limit table for a carrier (defaults with its overrides). */
  tableFor(carrierId: string): LimitTable;
  /** The carrier a segment will be routed to now (undefined: none bound; not limited here). */
  carrierOf(seg: ClaimedSegment): string | undefined;
  /** Told what was held back: per limit kind, segments. */
  onDeferred?(kind: LimitKind, segments: number): void;
  /** Told how many granted segments were not sent because the batch took too long to decide. */
  onStaleGrants?(segments: number): void;
  /**
   * Given the tickets of slots this policy gave and then did not use (stale); gives their daily
   * cap back. Default: at once, through the store.
   */
  onUnusedSlots?(tickets: ReadonlyArray<GatewayEvents['slot.unused']['ticket']>): void;
  now?: () => number;
  /** How long sender profiles are kept (an override or a new campaign applies within it). */
  profileTtlMs?: number;
  /** Told of a failed write of senders' backlogs (written again on their next move). */
  onBacklogWriteFailed?(err: unknown): void;
}

type Decisions = Map<ClaimedSegment, Decision>;

/**
 * How far ahead slots are reserved: the segments granted wait in flight (lease held, counted in
 * the dispatcher's in-flight cap) for at most this long before their slot. Held segments are
 * asked back RETURN_BEFORE_MS before their slot, so a dispatcher that comes back within that
 * finds its slot still ahead. 250 ms was short under a bulk load: a claim and its decision took
 * 200-400 ms a batch while two instances made the first decisions for 50,550 messages
 * (bench:limits `--scale 0.4`, slow limits' missed slots with held segments claimed first:
 * median 110 a run at 250 ms (90-202, 9 runs), 63 at 500 ms (8-145, 12 runs; wide scatter; the
 * runs of each side span other variants tried the same evening, none of which changed it clearly).
 * It is RETURN_BEFORE_MS plus FLOOR_SLACK_MS: see there why a held segment needs the slack.
 */
export const HORIZON_MS = 600;

/**
 * The first slot of a limit not in use is this far ahead: the rest of the batch is decided and
 * the segment reaches its write within it (a slot passed meanwhile is written late, which floors
 * the slot a second after it, or lost). Every segment under a limit that does not bind
 * waits this long in flight: a lead that followed slow batches' decision time (up to 150 ms) cut
 * bench's dispatch rate with limits on by 17 %, against 6 % at 50 ms.
 */
export const LEAD_MS = 50;

/**
 * Held segments are asked back this long before their slot. A claim never takes a segment before
 * it is due (its due time is the database's clock plus the delay, compared with the same clock),
 * and one that comes after slot − lead loses that time; the claim loop under load brings segments
 * back tens of ms late, so earlier is better: bench:limits `--scale 0.4`, four runs: limits with
 * ≥ 100 in the window 1.28, 1.33, 3.56 (a run with every class low), 1.50 % under their rate at
 * 470 ms, against 1.56–2.08 % (five runs) at 275 ms.
 */
export const RETURN_BEFORE_MS = 470;

/**
 * How far past its planned time a held segment's slot may have moved and still be granted when
 * the segment comes back, without another claim. A late write floors the slot a second after it
 * by its lateness (up to MAX_LATE_MS); a slow limit's next slot is that one, and the floor carries
 * on to the slots after it, so they drift past the plan held segments were asked back by. With
 * the horizon 30 ms past the return, a segment back more than that before its slot was held again
 * at the back of the sender's queue and nobody took the slot (bench:limits `--scale 0.4`: 0–17
 * slow limits a run with a gap of two spacings, median 7 of six runs; returns 528–615 ms before
 * their slot). Paced writes within 100 ms of their slot: 97.5 % on the slowest VM, 99.9 % on a
 * faster one. A slot moved further, but less than half a spacing, is waited for exactly (see
 * decideGroup).
 */
export const FLOOR_SLACK_MS = HORIZON_MS - RETURN_BEFORE_MS;

/**
 * Builds the policy. It loads late (after the policies before it decided), so a segment that
 * another rule stops never uses up a limit. Rejects when the limiter or the database cannot be
 * reached: the pipeline then defers the whole batch briefly (limits are never skipped).
 */
export function rateLimitPolicy(deps: LimitsPolicyDeps): Policy<ClaimedSegment, Decisions> {
  const now = deps.now ?? Date.now;
  const ttl = deps.profileTtlMs ?? 2_000;
  // Unknown numbers (null) are limited by their segments' type.
  const profiles = new TtlBatchCache<SenderProfile | null>(
    (e164s) => deps.store.senderProfiles(e164s),
    ttl,
    100_000,
    () => null,
  );
  /** Per limit key: when the segments already deferred for it are due to have gone. */
  const horizons = new Map<string, number>();
  /** Per sender: the backlog last written (written again when it moves by a second or more). */
  const written = new Map<string, number>();

  /**
   * Spreads `n` held-back segments one slot apart from `from`, after those already waiting for
   * `spec`: many small groups (a campaign's numbers, each with a few held back) queue behind one
   * another instead of all coming back for the same slot.
   */
  function spread(spec: RateSpec, step: number, n: number, from: number, key = spec.key): number[] {
    const base = Math.max(horizons.get(key) ?? 0, from);
    const out: number[] = [];
    for (let j = 0; j < n; j++) out.push(base + j * step);
    horizons.set(key, base + n * step);
    return out;
  }

  function spreadAfterReset(spec: RateSpec, n: number, midnight: number): number[] {
    return spread(spec, spec.spacingMs, n, midnight, `${spec.key}@${midnight}`);
  }

  interface Group {
    carrierId: string;
    sender: SenderProfile;
    segs: ClaimedSegment[];
  }
  interface Reserved {
    g: Group;
    rates: RateSpec[];
    daily: DailyCap | undefined;
    r: Reservation;
  }

  async function reserveGroup(g: Group): Promise<Reserved> {
    const { rates, daily } = limitsFor(g.sender, g.carrierId, deps.tableFor(g.carrierId));
    const r = await deps.limiter.reserve(rates, g.segs.length, { leadMs: LEAD_MS, horizonMs: HORIZON_MS });
    return { g, rates, daily, r };
  }

  /**
   * The brands' daily caps for the slots reserved, in one statement for the batch: each brand's
   * grant goes to its senders in batch order; the slots of those refused stay unused (once a day
   * per brand, on the carrier's side).
   */
  async function takeDaily(reserved: Reserved[], day: string): Promise<Map<Reserved, number>> {
    const want = new Map<string, DailyTake>();
    for (const x of reserved)
      if (x.daily && x.r.granted > 0) {
        const w = want.get(x.daily.brandId);
        if (w) w.want += x.r.granted;
        else want.set(x.daily.brandId, { brandId: x.daily.brandId, want: x.r.granted, cap: x.daily.cap });
      }
    const out = new Map<Reserved, number>();
    if (want.size === 0) return out;
    const got = await deps.store.takeDaily(day, [...want.values()]);
    for (const x of reserved)
      if (x.daily && x.r.granted > 0) {
        const left = got.get(x.daily.brandId) ?? 0;
        const g = Math.min(left, x.r.granted);
        got.set(x.daily.brandId, left - g);
        out.set(x, g);
      }
    return out;
  }

  function decideGroup(
    { g, rates, r, daily }: Reserved,
    dailyGranted: number | undefined,
    day: string,
    t: number,
    out: Decisions,
    backlog: Map<string, number>,
  ): void {
    const segs = g.segs;
    const sender = g.sender;
    // The pace of this sender's slots is its widest-spaced limit: the one that holds the rest.
    const pace = rates.reduce((x, y) => (y.spacingMs > x.spacingMs ? y : x));
    const lateMs = Math.min(...rates.map((x) => x.lateMs));
    const granted = dailyGranted === undefined ? r.granted : dailyGranted;
    const dailyHit = granted < r.granted;
    const counted = daily && dailyGranted !== undefined ? { brandId: daily.brandId, day } : undefined;
    for (let j = 0; j < granted; j++) {
      const at = r.times[j]!;
      const ticket: LimitsTicket = counted
        ? { marks: r.marks, index: j, daily: counted }
        : { marks: r.marks, index: j };
      out.set(segs[j]!, { kind: 'allow', at, by: at + lateMs, ticket });
    }
    const held = segs.length - granted;
    if (held === 0) return;
    deps.onDeferred?.(dailyHit ? 'brand_daily' : pace.kind, held);
    const numberSpec = rates[0]!;
    const step = r.stepMs || pace.spacingMs;
    const waiting = segs.slice(granted);
    // A held segment back for its slot that finds it moved by late writes before it (less than
    // half a spacing on: a slot another segment took would be a whole spacing on) waits for it
    // exactly, ahead of the rest; the back of the queue would leave the slot to nobody.
    const back = dailyHit ? -1 : waiting.findIndex((x) => x.heldForSlot === true);
    const slotMoved = back >= 0 && r.nextAt - (t + RETURN_BEFORE_MS) < pace.spacingMs / 2;
    if (slotMoved) waiting.unshift(...waiting.splice(back, 1));
    // Past the daily cap everything held waits for the reset, then goes at the number's pace.
    // The queue after the reset is kept apart from the number's queue today: a slot given back
    // later today must not send the number's next held segments to after midnight. (The
    // midnight only when needed: computed for every group it was 10 % of the gateway's CPU.)
    const times = dailyHit
      ? spreadAfterReset(numberSpec, held, nextPacificMidnight(new Date(t)).getTime())
      : slotMoved
        ? [r.nextAt, ...spread(pace, step, held - 1, r.nextAt + step)]
        : spread(pace, step, held, r.nextAt);
    for (let j = 0; j < held; j++) {
      const seg = waiting[j]!;
      out.set(seg, {
        kind: 'defer',
        // Back just inside the horizon before its slot: a return that misses its slot loses that
        // time, one that comes before the horizon goes to the back of the queue.
        until: new Date(dailyHit ? times[j]! : Math.max(t, times[j]! - RETURN_BEFORE_MS)),
        reason: dailyHit ? 'daily_cap_reached' : 'rate_limited',
      });
    }
    if (!dailyHit) backlog.set(sender.e164, Math.max(backlog.get(sender.e164) ?? 0, times[held - 1]!));
  }

  function dropStale(): void {
    if (horizons.size < 10_000) return;
    const t = now();
    for (const [k, h] of horizons) if (h < t) horizons.delete(k);
    for (const [k, h] of written) if (h < t) written.delete(k);
  }

  return {
    name: 'rate-limits',
    late: true,
    async load(segs) {
      const out: Decisions = new Map();
      if (segs.length === 0) return out;
      const senders = await profiles.get(
        segs.map((s) => s.from),
        now(),
      );
      const groups = new Map<string, Group>();
      for (const seg of segs) {
        const carrierId = deps.carrierOf(seg);
        if (carrierId === undefined) continue;
        const k = `${seg.from}\u0000${carrierId}`;
        let g = groups.get(k);
        if (!g) {
          g = {
            carrierId,
            sender: senders.get(seg.from) ?? { e164: seg.from, type: seg.numberType },
            segs: [],
          };
          groups.set(k, g);
        }
        g.segs.push(seg);
      }
      const backlog = new Map<string, number>();
      const reserved = await Promise.all([...groups.values()].map(reserveGroup));
      const day = pacificDay(new Date(now()));
      const daily = await takeDaily(reserved, day);
      const decidedAt = now();
      for (const x of reserved) decideGroup(x, daily.get(x), day, decidedAt, out, backlog);
      // A slot past its last moment (the batch waited on another group's round trip) is not
      // used: its late report could come after the slot a second later is given. Its segment
      // comes back at once for a new one.
      const t = now();
      const stale: Array<LimitsTicket | undefined> = [];
      for (const [seg, d] of out)
        if (d.kind === 'allow' && d.by !== undefined && d.by < t) {
          out.set(seg, { kind: 'defer', until: new Date(t), reason: 'rate_limited' });
          stale.push(d.ticket as LimitsTicket | undefined);
        }
      if (stale.length > 0) {
        deps.onStaleGrants?.(stale.length);
        if (deps.onUnusedSlots) deps.onUnusedSlots(stale);
        // Not awaited: the batch goes on; the cap comes back within a round trip.
        else void returnUnusedDaily(deps.store, stale);
      }
      const moved = [...backlog].filter(
        ([e164, until]) => Math.abs((written.get(e164) ?? 0) - until) >= 1_000,
      );
      if (moved.length > 0) {
        // A failure is not the batch's: the value is advisory (the queue cap at accept) and is
        // written again on its next move. (Not awaiting it made no difference bench:limits could
        // tell from its scatter.)
        try {
          await deps.store.setBacklog(moved.map(([e164, until]) => ({ e164, until: new Date(until) })));
          for (const [e164, until] of moved) written.set(e164, until);
        } catch (err) {
          deps.onBacklogWriteFailed?.(err);
        }
      }
      dropStale();
      return out;
    },
    decide: (seg, decided) => decided.get(seg) ?? ALLOW,
  };
}
