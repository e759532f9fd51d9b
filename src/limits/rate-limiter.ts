/**
 * The rate limiter behind the limits policy: send slots, reserved for all of a sender's limits at
 * once, in Redis (shared by every gateway instance) or in memory.
 *
 * Each limit keeps an even grid: when its next slot is free (a "theoretical arrival time", as in
 * GCRA), with floors on the few positions a late write or a held-back slot reached (see
 * reserveSlots). Reserving `want` segments under limits L1..Lk takes the first slot at
 * `max(now, next(L1), …, next(Lk))` and the following ones a `max(spacing)` apart (each held to
 * its floors), as many as fall within `horizonMs` from now; each limit's next slot becomes the
 * last grid slot plus its own spacing. The dispatcher then writes each segment at its slot (a
 * bounded wait, in flight), so
 * what reaches the SMSC is paced, not burst, and a slot is never late because the dispatcher
 * came back late: the next batch is due before its slot, and the slot waits for it.
 *
 * Why not Bottleneck (still the pacer of `cli send`): its reservoir is a token bucket, which lets
 * a sliding second carry the rate plus one refill (bench:limits: 128 of 658 limits over their
 * allowance); it has no slot or sliding-window primitive, and its weighted draws took two round
 * trips per limit. One script here takes one round trip per sender and batch for all its limits.
 */
import { Redis } from 'ioredis';
import type { RateSpec } from './policy-table.ts';
import { LATE_LUA, RESERVE_LUA } from './slot-scripts.ts';
import {
  type ClockSample,
  FRESH_SLOT,
  type LateWrite,
  lateFloors,
  quickestOffset,
  type RateLimiter,
  type Reservation,
  reserveSlots,
  type SlotMarks,
  type SlotState,
  type SlotWindow,
  wallMinusMonotonic,
  withFloors,
} from './slots.ts';

/** Kept to the µs, as Redis keeps it (`%.3f`): the two compute the same slots. */
const toMicros = (ms: number) => Math.round(ms * 1000) / 1000;

/** Where a reservation's slots sit in each of its limits (see SlotMarks). */
const marksOf = (
  limits: readonly RateSpec[],
  firstPos: readonly number[],
  refs: readonly number[],
): SlotMarks => ({
  keys: limits.map((l) => l.key),
  spacings: limits.map((l) => l.spacingMs),
  allowances: limits.map((l) => l.allowance),
  firstPos,
  refs,
});

/** A state as Redis keeps it (to the µs), so that the two compute the same slots. */
const stored = (s: SlotState): SlotState => ({
  next: toMicros(s.next),
  seq: s.seq,
  floors: s.floors.map((f) => ({ pos: f.pos, at: toMicros(f.at) })),
});

/** How long a clock measurement may be used (the quickest of this period is). */
const CLOCK_MEMORY_MS = 5 * 60_000;

/** How long a limit not asked for stays remembered. */
const IDLE_MS = 10 * 60_000;

type ReserveCommand = (numKeys: number, ...args: Array<string | number>) => Promise<Array<number | string>>;
type LateCommand = (numKeys: number, ...args: Array<string | number>) => Promise<number>;

/**
 * Slot reservations in Redis (with `redisUrl`, over one connection of its own; `prefix` keeps
 * tests and deployments apart) or in this process.
 */
export class SlotRateLimiter implements RateLimiter {
  /** Without Redis: each limit's state. */
  private readonly local = new Map<string, SlotState>();
  private readonly redis: (Redis & { parleyReserve: ReserveCommand; parleyLate: LateCommand }) | undefined;
  /** Late writes not yet sent to Redis (sent together, once per turn of the event loop). */
  private lateQueue: LateWrite[] = [];
  private lateFlush: Promise<void> | undefined;
  /** Limit key → when it was last asked for (for `size`, and to forget idle local limits). */
  private readonly recent = new Map<string, number>();
  private readonly sweep: NodeJS.Timeout;
  private readonly clockSync: NodeJS.Timeout | undefined;
  /** One wait for the connection, shared by every reservation made while it is not ready. */
  private connecting: Promise<void> | undefined;
  /** A reservation timed out waiting for the connection; set until it is ready again. */
  private gaveUp = false;
  /** Redis's clock minus ours (ms), from the measurements of the last minutes. */
  private offsetMs = 0;
  private clockSamples: ClockSample[] = [];

  constructor(
    redisUrl: string | undefined,
    private readonly prefix: string,
    /** A reservation not answered within this rejects (the policy defers the batch). */
    private readonly timeoutMs = 1_000,
    /** Tests: the clock Redis's script uses instead of its own (ms). */
    private readonly clock?: () => number,
  ) {
    if (redisUrl) {
      // Commands fail at once while Redis is away (the policy defers) instead of piling up.
      const r = new Redis(redisUrl, {
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        lazyConnect: false,
        // A batch asks once per sender, all in one tick: one write to the socket for them all.
        enableAutoPipelining: true,
      });
      // A lost Redis shows as rejected reservations; the connection must not crash us.
      r.on('error', () => undefined);
      r.on('ready', () => {
        this.gaveUp = false;
      });
      r.defineCommand('parleyReserve', { lua: RESERVE_LUA });
      r.defineCommand('parleyLate', { lua: LATE_LUA });
      this.redis = r as Redis & { parleyReserve: ReserveCommand; parleyLate: LateCommand };
      // Two hosts' clocks may differ by more than a slot's margin: measured, as NTP does.
      void this.syncClock();
      this.clockSync = setInterval(() => void this.syncClock(), 30_000);
      this.clockSync.unref();
    }
    this.sweep = setInterval(() => this.dropIdle(), 60_000);
    this.sweep.unref();
  }

  /** Redis's clock minus this process's (ms), as measured (0 without Redis). */
  get clockOffsetMs(): number {
    return this.offsetMs;
  }

  get size(): number {
    return this.recent.size;
  }

  reserve(limits: readonly RateSpec[], want: number, window: SlotWindow): Promise<Reservation> {
    if (want <= 0 || limits.length === 0) {
      // Nothing reserved: "now" on the clock this limiter keeps (the tests' own, when given).
      const t = this.clock ? this.clock() : Date.now();
      const times = Array.from({ length: Math.max(0, want) }, () => t);
      return Promise.resolve({
        granted: times.length,
        firstAt: t,
        times,
        stepMs: 0,
        nextAt: t,
        marks: { keys: [], spacings: [], allowances: [], firstPos: [], refs: times },
      });
    }
    const at = Date.now();
    for (const l of limits) this.recent.set(l.key, at);
    if (!this.redis) return Promise.resolve(this.reserveLocal(limits, want, window));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        if (this.redis?.status !== 'ready') this.gaveUp = true;
        reject(new Error('rate limiter did not answer in time'));
      }, this.timeoutMs);
    });
    const args: Array<string | number> = limits.map((l) => `${this.prefix}slot:${l.key}`);
    args.push(want, window.horizonMs, this.clock ? this.clock() : -1, window.leadMs);
    for (const l of limits) args.push(l.spacingMs, l.allowance);
    const redis = this.redis;
    // Not connected yet (a start, a reconnect): wait for it within the timeout rather than fail
    // a batch that a connection a few ms away would have answered.
    if (redis.status !== 'ready') {
      // Waited for only in the first timeout of an outage: later ones reject at once, so an
      // outage piles up no reservations to fire when Redis comes back.
      if (this.gaveUp) return Promise.reject(new Error('rate limiter not connected'));
      this.connecting ??= new Promise<void>((resolve) =>
        redis.once('ready', () => {
          this.connecting = undefined;
          resolve();
        }),
      );
    }
    const connected = redis.status === 'ready' ? Promise.resolve() : this.connecting!;
    const asking = connected
      .then(() => redis.parleyReserve(limits.length, ...args))
      .then(([g, first, step, next, ...rest]) => {
        // Slots are on Redis's clock, one for every instance; here they are written on ours.
        const off = this.clock ? 0 : this.offsetMs;
        const refs = rest.slice(limits.length).map(Number);
        const marks = marksOf(limits, rest.slice(0, limits.length).map(Number), refs);
        return {
          granted: Number(g),
          firstAt: Number(first) - off,
          times: refs.map((t) => t - off),
          stepMs: Number(step),
          nextAt: Number(next) - off,
          marks,
        };
      });
    // A reservation that times out may still be made: its slots then go unused, which errs on
    // the side of the carrier's limit.
    asking.catch(() => undefined);
    return Promise.race([asking, timeout]).finally(() => clearTimeout(timer));
  }

  private reserveLocal(limits: readonly RateSpec[], want: number, window: SlotWindow): Reservation {
    const now = this.clock ? this.clock() : Date.now();
    const states = limits.map((l) => this.local.get(l.key) ?? FRESH_SLOT);
    const r = reserveSlots(states, limits, now, want, window);
    if (r.granted > 0) for (const [i, l] of limits.entries()) this.local.set(l.key, stored(r.states[i]!));
    return {
      granted: r.granted,
      firstAt: r.first,
      times: r.times,
      stepMs: r.step,
      nextAt: r.nextAt,
      marks: marksOf(
        limits,
        states.map((x) => x.seq),
        r.times,
      ),
    };
  }

  wroteLate(writes: readonly LateWrite[]): Promise<void> {
    if (!this.redis) {
      for (const [key, f] of lateFloors(writes)) {
        const st = this.local.get(key);
        if (st) this.local.set(key, stored(withFloors(st, f.floors, f.spacing)));
      }
      return Promise.resolve();
    }
    for (const w of writes) this.lateQueue.push(w);
    this.lateFlush ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.lateFlush = undefined;
        void this.flushLate().then(resolve);
      }),
    );
    return this.lateFlush;
  }

  /** One script call for the late writes of a turn, one entry per limit. */
  private async flushLate(): Promise<void> {
    const writes = this.lateQueue;
    this.lateQueue = [];
    const redis = this.redis;
    if (!redis || writes.length === 0 || redis.status !== 'ready') return;
    const keys: string[] = [];
    const args: Array<string | number> = [this.clock ? this.clock() : -1];
    for (const [key, f] of lateFloors(writes)) {
      keys.push(`${this.prefix}slot:${key}`);
      args.push(f.spacing, f.floors.map((x) => `${x.pos} ${x.at.toFixed(3)}`).join(' '));
    }
    if (keys.length === 0) return;
    // Best effort: a report lost to an outage leaves the margin to absorb that write.
    await redis.parleyLate(keys.length, ...keys, ...args).catch(() => undefined);
  }

  /**
   * Measures Redis's clock against ours (Date.now, the clock slots are written by), as NTP does:
   * of a few round trips, the quickest, whose midpoint is closest to when Redis read its clock;
   * the offset used is the quickest measurement of the last five minutes (a loaded machine reads
   * replies late, so a slow round trip's midpoint is off by up to half of it, and that moves every
   * slot of this instance against those of the others; clocks drift far less in five minutes).
   * Never rejects (a Redis away keeps the last offset).
   */
  async syncClock(): Promise<number> {
    if (!this.redis) return 0;
    let best = Number.POSITIVE_INFINITY;
    let offset = 0;
    for (let i = 0; i < 8; i++) {
      try {
        const t0 = performance.now();
        const [sec, usec] = await this.redis.time();
        const t1 = performance.now();
        if (t1 - t0 < best) {
          best = t1 - t0;
          offset = Number(sec) * 1000 + Number(usec) / 1000 - (performance.timeOrigin + (t0 + t1) / 2);
        }
      } catch {
        break;
      }
    }
    if (!Number.isFinite(best)) return this.offsetMs;
    // The monotonic clock above and Date.now differ by a few ms, and drift apart (2 ms in 20 s
    // seen here): measured now, where Date.now ticks to its next millisecond, the median of three
    // (one reading can be preempted between its two clocks).
    const diffs = [wallMinusMonotonic(), wallMinusMonotonic(), wallMinusMonotonic()].sort((x, y) => x - y);
    const at = Date.now();
    this.clockSamples.push({ rttMs: best, offsetMs: offset - diffs[1]!, at });
    this.clockSamples = this.clockSamples.filter((x) => at - x.at <= CLOCK_MEMORY_MS);
    this.offsetMs = quickestOffset(this.clockSamples);
    return this.offsetMs;
  }

  async close(): Promise<void> {
    clearInterval(this.sweep);
    clearInterval(this.clockSync);
    this.local.clear();
    this.recent.clear();
    this.redis?.disconnect(false);
  }

  /**
   * Forgets limits not asked for in ten minutes: their next slot is long past, which a new
   * reservation treats as absent (Redis expires its own keys the same way).
   */
  private dropIdle(): void {
    const cutoff = Date.now() - IDLE_MS;
    for (const [k, t] of this.recent)
      if (t < cutoff) {
        this.recent.delete(k);
        this.local.delete(k);
      }
  }
}
