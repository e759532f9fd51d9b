/**
 * Send slots, the arithmetic and the vocabulary of the slot limiter (see rate-limiter.ts): pure,
 * the oracle the Redis scripts are tested against.
 */
import type { RateSpec } from './policy-table.ts';

/**
 * Slots reserved for the first `granted` segments: at `firstAt`, then every `stepMs` (epoch ms on
 * this process's clock).
 */
export interface Reservation {
  granted: number;
  firstAt: number;
  stepMs: number;
  /** The slot the next segment would get (for deferring the rest). */
  nextAt: number;
  /**
   * What a late write reports back (see wroteLate): each limit's position of the first slot, and
   * the first slot on the limiter's own clock (Redis's, when shared).
   */
  marks: SlotMarks;
}

/** Where a reservation's first slot sits in each of its limits' sequences of slots. */
export interface SlotMarks {
  keys: readonly string[];
  spacings: readonly number[];
  /** Position (count of slots the limit gave before it) of the first slot, per limit. */
  firstPos: readonly number[];
  /** The first slot on the limiter's clock. */
  firstRef: number;
  stepMs: number;
}

/** A segment written `lateMs` after its slot, the `index`-th of the reservation of `marks`. */
export interface LateWrite {
  marks: SlotMarks;
  index: number;
  lateMs: number;
}

/** Which slots a reservation may take: from `leadMs` to `horizonMs` after now. */
export interface SlotWindow {
  /** Time the caller needs before its first write (deciding the rest of its batch). */
  leadMs: number;
  horizonMs: number;
}

export interface RateLimiter {
  /**
   * Reserves slots for up to `want` segments under every limit of `limits` jointly, those within
   * the window. Rejects when the shared store cannot be reached or does not answer in
   * time (nothing may have been reserved; the caller defers).
   */
  reserve(limits: readonly RateSpec[], want: number, window: SlotWindow): Promise<Reservation>;
  /**
   * Moves each limit's next free slot so that every slot still to be given is at least its
   * spacing times its distance in the sequence after the late write (see lateFloor). Never
   * rejects: a report that cannot reach Redis is dropped (the pacing margin is then all there is).
   * Settles when applied (or dropped); callers need not wait.
   */
  wroteLate(writes: readonly LateWrite[]): Promise<void>;
  /** Limits seen recently (each one a time, in Redis or here). */
  readonly size: number;
  close(): Promise<void>;
}

/**
 * The reservation itself, for one clock: `next` holds each limit's next free slot (ms, same clock
 * as `now`), `seqs` how many slots each gave so far. Pure: the Redis script below is the same
 * arithmetic, and is tested against this.
 */
export function reserveSlots(
  next: readonly number[],
  spacings: readonly number[],
  now: number,
  want: number,
  w: SlotWindow,
  seqs: readonly number[] = next.map(() => 0),
): { granted: number; first: number; step: number; next: number[]; seqs: number[] } {
  const horizonMs = w.horizonMs;
  let first = now + w.leadMs;
  let step = 0;
  for (let i = 0; i < next.length; i++) {
    if (next[i]! > first) first = next[i]!;
    if (spacings[i]! > step) step = spacings[i]!;
  }
  let granted = 0;
  if (want > 0 && first <= now + horizonMs)
    granted = Math.min(want, Math.floor((now + horizonMs - first) / step) + 1);
  if (granted === 0) return { granted, first, step, next: [...next], seqs: [...seqs] };
  const last = first + (granted - 1) * step;
  return { granted, first, step, next: spacings.map((s) => last + s), seqs: seqs.map((q) => q + granted) };
}

/**
 * A limit's next free slot after the slot at position `pos` was written at `writtenAt` (limiter
 * clock, less the tolerance the margin absorbs): no later slot may come closer to that write than
 * its distance in the sequence times the spacing. So a second's worth of slots after a late
 * write spans a second and the margin from the write itself, not from its slot (bench:limits: 8
 * campaigns had a second over their allowance, a slot written 16–30 ms late and the one a
 * second after it on time). `seq` is how many slots the limit gave so far; the slots between
 * `pos` and `seq` were given before the report and stay (a report comes within a fraction of a
 * second, long before the slot a second later is given). Pure; the script's oracle.
 */
export function lateFloor(
  next: number,
  seq: number,
  pos: number,
  spacing: number,
  writtenAt: number,
): number {
  return Math.max(next, writtenAt + (seq - pos) * spacing);
}

/**
 * Date.now minus performance.timeOrigin + performance.now (ms), to a few µs: read the instant
 * Date.now moves to its next millisecond (it truncates, so any other instant is up to 1 ms off).
 * Spins for at most a millisecond.
 */
export function wallMinusMonotonic(): number {
  const d0 = Date.now();
  let d = d0;
  let p = 0;
  for (let i = 0; i < 1e7 && d === d0; i++) {
    p = performance.now();
    d = Date.now();
  }
  return d - (performance.timeOrigin + p);
}

/**
 * What a set of late writes asks of each limit, reduced to one floor per limit (the latest of
 * them): its next slot must be at least `base + seq × spacing` for its count of slots `seq` — so
 * lateFloor(next, seq, pos, spacing, at) for every write, with base = at − pos × spacing.
 */
export function lateFloors(writes: readonly LateWrite[]): Map<string, { spacing: number; base: number }> {
  const out = new Map<string, { spacing: number; base: number }>();
  for (const w of writes) {
    const m = w.marks;
    const at = m.firstRef + w.index * m.stepMs + w.lateMs;
    for (const [i, key] of m.keys.entries()) {
      const spacing = m.spacings[i]!;
      const base = at - (m.firstPos[i]! + w.index) * spacing;
      const f = out.get(key);
      if (!f || base > f.base) out.set(key, { spacing, base });
    }
  }
  return out;
}

/** One measurement of another clock against ours: its offset (ms) and the round trip it took. */
export interface ClockSample {
  rttMs: number;
  offsetMs: number;
  at: number;
}

/**
 * The offset of the quickest round trip (its error is at most half of it); 0 without any. Of
 * equally quick ones, the latest.
 */
export function quickestOffset(samples: readonly ClockSample[]): number {
  let best: ClockSample | undefined;
  for (const x of samples) if (!best || x.rttMs <= best.rttMs) best = x;
  return best?.offsetMs ?? 0;
}
