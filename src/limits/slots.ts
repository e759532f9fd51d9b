/**
 * Send slots, the arithmetic and the vocabulary of the slot limiter (see rate-limiter.ts): pure,
 * the oracle the Redis scripts are tested against.
 */
import type { RateSpec } from './policy-table.ts';

/**
 * Slots reserved for the first `granted` segments, at `times` (epoch ms on this process's clock;
 * `stepMs` apart but where a floor holds a slot back, see reserveSlots).
 */
export interface Reservation {
  granted: number;
  /** The first slot (granted or not: when none is, the one the first segment would get). */
  firstAt: number;
  times: readonly number[];
  /** The spacing of the slots (the widest of the limits'). */
  stepMs: number;
  /** The slot the next segment would get (for deferring the rest). */
  nextAt: number;
  /**
   * What a late write reports back (see wroteLate): each limit's position of the first slot, and
   * each slot on the limiter's own clock (Redis's, when shared).
   */
  marks: SlotMarks;
}

/** Where a reservation's slots sit in each of its limits' sequences of slots. */
export interface SlotMarks {
  keys: readonly string[];
  spacings: readonly number[];
  /** Per limit, the slots any sliding second may carry (see rateSpec). */
  allowances: readonly number[];
  /** Position (count of slots the limit gave before it) of the first slot, per limit. */
  firstPos: readonly number[];
  /** The slots on the limiter's clock. */
  refs: readonly number[];
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
   * Floors the slots the late writes reach (see lateFloors). Never rejects: a report that cannot
   * reach Redis is dropped (the pacing margin is then all there is). Settles when applied (or
   * dropped); callers need not wait.
   */
  wroteLate(writes: readonly LateWrite[]): Promise<void>;
  /** Limits seen recently (each one a time, in Redis or here). */
  readonly size: number;
  close(): Promise<void>;
}

/** One limit as the slot arithmetic needs it (a RateSpec is one). */
export interface SlotLimit {
  spacingMs: number;
  /** How many slots any sliding second may carry: `allowance` slots span `allowance × spacing`. */
  allowance: number;
}

/** The slot at position `pos` of a limit may not come before `at`. */
export interface Floor {
  pos: number;
  at: number;
}

/**
 * A limit as the limiter keeps it: `next`, the next slot of its even grid; `seq`, the count of
 * slots it gave; `floors` on positions not given yet (ascending), each above the grid.
 */
export interface SlotState {
  next: number;
  seq: number;
  floors: readonly Floor[];
}

/** Floors position `pos` at `at` unless it is floored as late already (floors only rise). */
function raise(floors: Map<number, number>, pos: number, at: number): void {
  const had = floors.get(pos);
  if (had === undefined || at > had) floors.set(pos, at);
}

/** A limit never asked for (or forgotten). */
export const FRESH_SLOT: SlotState = { next: 0, seq: 0, floors: [] };

/**
 * How far ahead of a limit's count a floor is kept: one further ahead (a limit over this many slots
 * a second) moves the grid instead — its next slot to where the floor's position lands on it, as
 * every late write did before floors. Safe either way; kept, a floor costs only its position, but
 * the scripts read and write every kept floor at each reservation (a limit of 1,000,000 a second,
 * bench's "not binding" one, kept floors a second ahead and each collapse stopped it for a second:
 * final-status/s 5,493 → 2,170).
 */
export const MAX_FLOORS = 256;

export interface Reserved {
  granted: number;
  times: number[];
  /** The first slot, granted or not. */
  first: number;
  step: number;
  nextAt: number;
  /** The limits' states after it (the input ones, unchanged, when nothing was granted). */
  states: SlotState[];
}

/**
 * The reservation itself, for one clock. Slots follow an even grid `step` (the widest spacing)
 * apart from the latest of the limits' next slots (or `now + leadMs`); a slot is held back to
 * its limits' floor at its position, and only it: the slots after it stay on the grid, so one
 * can come before the slot before it (each segment is its own submit, written at its own time;
 * holding the next ones back too cost 2.0–2.6 % of the rate at 75–100/s in a simulation of the
 * slowest VM's lateness, against 0.6–0.9 %). Every slot held back past the grid floors the slot
 * `allowance` positions after it in each limit at itself plus
 * `allowance × spacing`, as a late write does (see lateFloors): so any `allowance + 1` slots of a
 * limit span at least `allowance × spacing`, whatever is late, and lateness costs only the
 * positions it reaches, not every slot after it (bench:limits, the slowest VM: moving the whole
 * grid by each late write left the fast limits 2.2–2.8 % under their rate). Granted: the slots up
 * to `now + horizonMs`, at most `want`. Pure: the Redis script is the same arithmetic, tested
 * against this.
 */
export function reserveSlots(
  states: readonly SlotState[],
  limits: readonly SlotLimit[],
  now: number,
  want: number,
  w: SlotWindow,
): Reserved {
  let grid = now + w.leadMs;
  let step = 0;
  for (let i = 0; i < states.length; i++) {
    if (states[i]!.next > grid) grid = states[i]!.next;
    if (limits[i]!.spacingMs > step) step = limits[i]!.spacingMs;
  }
  const floors = states.map((s) => new Map(s.floors.map((f) => [f.pos, f.at])));
  const last = now + w.horizonMs;
  const times: number[] = [];
  let first = grid;
  for (let k = 0; k < want; k++) {
    const g = grid + k * step;
    let t = g;
    for (let i = 0; i < states.length; i++) {
      const f = floors[i]!.get(states[i]!.seq + k);
      if (f !== undefined && f > t) t = f;
    }
    if (k === 0) first = t;
    if (t > last) break;
    times.push(t);
    if (t > g)
      for (let i = 0; i < states.length; i++) {
        const { allowance, spacingMs } = limits[i]!;
        raise(floors[i]!, states[i]!.seq + k + allowance, t + allowance * spacingMs);
      }
  }
  const granted = times.length;
  if (granted === 0) return { granted, times, first, step, nextAt: first, states: [...states] };
  const lastGrid = grid + (granted - 1) * step;
  return {
    granted,
    times,
    first,
    step,
    nextAt: grid + granted * step,
    states: states.map((s, i) =>
      settleSlot(lastGrid + limits[i]!.spacingMs, s.seq + granted, floors[i]!, limits[i]!.spacingMs),
    ),
  };
}

/**
 * A limit's state from its grid's next slot, count and candidate floors: a floor more than
 * MAX_FLOORS positions ahead moves `next` so that the grid reaches it (the grid reaches position p
 * no sooner than `next + (p − seq) × spacing`); the floors on positions already given, or not
 * above the grid, are dropped. So at most MAX_FLOORS + 1 are kept. Pure (the script's writeSlot).
 */
export function settleSlot(
  next: number,
  seq: number,
  floors: ReadonlyMap<number, number>,
  spacingMs: number,
): SlotState {
  let n = next;
  for (const [pos, at] of floors)
    if (pos - seq > MAX_FLOORS && at - (pos - seq) * spacingMs > n) n = at - (pos - seq) * spacingMs;
  const kept: Floor[] = [];
  for (const [pos, at] of floors)
    if (pos >= seq && pos - seq <= MAX_FLOORS && at > n + (pos - seq) * spacingMs) kept.push({ pos, at });
  kept.sort((a, b) => a.pos - b.pos);
  return { next: n, seq, floors: kept };
}

/**
 * A limit's state once late writes are reported (`floors` from lateFloors): each floor on a
 * position not given yet raises it; one on a position already given comes too late to matter
 * (a report comes within a fraction of a second, long before the slot a second later is given:
 * the policy's horizon is tested for it) and is dropped. Pure (the script's).
 */
export function withFloors(s: SlotState, floors: Iterable<Floor>, spacingMs: number): SlotState {
  const m = new Map(s.floors.map((f) => [f.pos, f.at]));
  for (const f of floors) raise(m, f.pos, f.at);
  return settleSlot(s.next, s.seq, m, spacingMs);
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
 * What a set of late writes asks of each limit: a write at position `pos`, `lateMs` after its slot
 * (less the tolerance the margin absorbs), floors the slot `allowance` positions after it at the
 * write plus `allowance × spacing` (so those `allowance + 1` slots span that much from the write
 * itself, not from its slot: bench:limits saw 8 campaigns with a second over their allowance, a
 * slot written 16–30 ms late and the one a second after it on time). The latest per position.
 */
export function lateFloors(writes: readonly LateWrite[]): Map<string, { spacing: number; floors: Floor[] }> {
  const acc = new Map<string, { spacing: number; at: Map<number, number> }>();
  for (const w of writes) {
    const m = w.marks;
    const written = m.refs[w.index]! + w.lateMs;
    for (const [i, key] of m.keys.entries()) {
      const spacing = m.spacings[i]!;
      const allowance = m.allowances[i]!;
      let e = acc.get(key);
      if (!e) {
        e = { spacing, at: new Map() };
        acc.set(key, e);
      }
      raise(e.at, m.firstPos[i]! + w.index + allowance, written + allowance * spacing);
    }
  }
  const out = new Map<string, { spacing: number; floors: Floor[] }>();
  for (const [key, e] of acc)
    out.set(key, { spacing: e.spacing, floors: [...e.at].map(([pos, at]) => ({ pos, at })) });
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
