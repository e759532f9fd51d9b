/**
 * The rate limiter behind the limits policy: send slots, reserved for all of a sender's limits at
 * once, in Redis (shared by every gateway instance) or in memory.
 *
 * Each limit keeps one time: when its next slot is free (a "theoretical arrival time", as in
 * GCRA). Reserving `want` segments under limits L1..Lk takes the first slot at
 * `max(now, next(L1), …, next(Lk))` and the following ones a `max(spacing)` apart, as many as
 * fall within `horizonMs` from now; each limit's next slot becomes the last slot plus its own
 * spacing. The dispatcher then writes each segment at its slot (a bounded wait, in flight), so
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

/** The same as reserveSlots, atomic in Redis; `now` is Redis's own clock unless given (tests). */
const RESERVE_LUA = `
local want = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local now = tonumber(ARGV[3])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
local first = now + tonumber(ARGV[4])
local step = 0
local seqs = {}
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  local n, q = 0, 0
  if v then
    local a, b = string.match(v, '^(%S+) (%S+)$')
    if a then n, q = tonumber(a), tonumber(b) else n = tonumber(v) or 0 end
  end
  seqs[i] = q
  if n > first then first = n end
  local s = tonumber(ARGV[4 + i])
  if s > step then step = s end
end
local granted = 0
if want > 0 and first <= now + horizon then
  granted = math.min(want, math.floor((now + horizon - first) / step) + 1)
end
if granted > 0 then
  local last = first + (granted - 1) * step
  for i = 1, #KEYS do
    local n = last + tonumber(ARGV[4 + i])
    redis.call('SET', KEYS[i], string.format('%.3f %d', n, seqs[i] + granted), 'PX', math.ceil(n - now) + 1000)
  end
end
local out = { granted, string.format('%.3f', first), string.format('%.3f', step) }
for i = 1, #KEYS do out[3 + i] = seqs[i] end
return out
`;

/**
 * lateFloor for each report, atomic in Redis: ARGV = now (or -1: Redis's clock), then per key its
 * position, spacing and write time. A key gone (idle past its slot) has nothing left to move.
 */
const LATE_LUA = `
local now = tonumber(ARGV[1])
if now < 0 then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
end
for i = 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  if v then
    local a, b = string.match(v, '^(%S+) (%S+)$')
    if a then
      local n, q = tonumber(a), tonumber(b)
      local pos = tonumber(ARGV[3 * i - 1])
      local want = tonumber(ARGV[3 * i + 1]) + (q - pos) * tonumber(ARGV[3 * i])
      if want > n then
        redis.call('SET', KEYS[i], string.format('%.3f %d', want, q), 'PX', math.ceil(want - now) + 1000)
      end
    end
  end
end
return #KEYS
`;

/** How long a limit not asked for stays remembered. */
const IDLE_MS = 10 * 60_000;

type ReserveCommand = (numKeys: number, ...args: Array<string | number>) => Promise<Array<number | string>>;
type LateCommand = (numKeys: number, ...args: Array<string | number>) => Promise<number>;

/**
 * Slot reservations in Redis (with `redisUrl`, over one connection of its own; `prefix` keeps
 * tests and deployments apart) or in this process.
 */
export class SlotRateLimiter implements RateLimiter {
  /** Without Redis: each limit's next free slot and count of slots given. */
  private readonly local = new Map<string, { next: number; seq: number }>();
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
  /** Redis's clock minus ours (ms), as last measured. */
  private offsetMs = 0;

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

  get size(): number {
    return this.recent.size;
  }

  reserve(limits: readonly RateSpec[], want: number, window: SlotWindow): Promise<Reservation> {
    if (want <= 0 || limits.length === 0) {
      const t = Date.now();
      return Promise.resolve({
        granted: Math.max(0, want),
        firstAt: t,
        stepMs: 0,
        nextAt: t,
        marks: { keys: [], spacings: [], firstPos: [], firstRef: t, stepMs: 0 },
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
    for (const l of limits) args.push(l.spacingMs);
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
      .then(([g, first, step, ...pos]) => {
        // Slots are on Redis's clock, one for every instance; here they are written on ours.
        const firstAt = Number(first) - (this.clock ? 0 : this.offsetMs);
        const stepMs = Number(step);
        const marks: SlotMarks = {
          keys: limits.map((l) => l.key),
          spacings: limits.map((l) => l.spacingMs),
          firstPos: pos.map(Number),
          firstRef: Number(first),
          stepMs,
        };
        return { granted: Number(g), firstAt, stepMs, nextAt: firstAt + Number(g) * stepMs, marks };
      });
    // A reservation that times out may still be made: its slots then go unused, which errs on
    // the side of the carrier's limit.
    asking.catch(() => undefined);
    return Promise.race([asking, timeout]).finally(() => clearTimeout(timer));
  }

  private reserveLocal(limits: readonly RateSpec[], want: number, window: SlotWindow): Reservation {
    const now = this.clock ? this.clock() : Date.now();
    const states = limits.map((l) => this.local.get(l.key));
    const r = reserveSlots(
      states.map((x) => x?.next ?? 0),
      limits.map((l) => l.spacingMs),
      now,
      want,
      window,
      states.map((x) => x?.seq ?? 0),
    );
    if (r.granted > 0)
      for (const [i, l] of limits.entries()) this.local.set(l.key, { next: r.next[i]!, seq: r.seqs[i]! });
    const marks: SlotMarks = {
      keys: limits.map((l) => l.key),
      spacings: limits.map((l) => l.spacingMs),
      firstPos: states.map((x) => x?.seq ?? 0),
      firstRef: r.first,
      stepMs: r.step,
    };
    return {
      granted: r.granted,
      firstAt: r.first,
      stepMs: r.step,
      nextAt: r.first + r.granted * r.step,
      marks,
    };
  }

  wroteLate(writes: readonly LateWrite[]): Promise<void> {
    if (!this.redis) {
      for (const w of writes) {
        const m = w.marks;
        const at = m.firstRef + w.index * m.stepMs + w.lateMs;
        for (const [i, key] of m.keys.entries()) {
          const st = this.local.get(key);
          if (st) st.next = lateFloor(st.next, st.seq, m.firstPos[i]! + w.index, m.spacings[i]!, at);
        }
      }
      return Promise.resolve();
    }
    this.lateQueue.push(...writes);
    this.lateFlush ??= new Promise<void>((resolve) =>
      setImmediate(() => {
        this.lateFlush = undefined;
        void this.flushLate().then(resolve);
      }),
    );
    return this.lateFlush;
  }

  /** One script call for the late writes of a turn (a limit that appears twice, twice in order). */
  private async flushLate(): Promise<void> {
    const writes = this.lateQueue;
    this.lateQueue = [];
    const redis = this.redis;
    if (!redis || writes.length === 0 || redis.status !== 'ready') return;
    const keys: string[] = [];
    const args: Array<string | number> = [this.clock ? this.clock() : -1];
    for (const w of writes) {
      const m = w.marks;
      const at = m.firstRef + w.index * m.stepMs + w.lateMs;
      for (const [i, key] of m.keys.entries()) {
        keys.push(`${this.prefix}slot:${key}`);
        args.push(m.firstPos[i]! + w.index, m.spacings[i]!, at.toFixed(3));
      }
    }
    if (keys.length === 0) return;
    // Best effort: a report lost to an outage leaves the margin to absorb that write.
    await redis.parleyLate(keys.length, ...keys, ...args).catch(() => undefined);
  }

  /**
   * Measures Redis's clock against ours: of a few round trips, the quickest, whose midpoint is
   * closest to when Redis read its clock. Never rejects (a Redis away keeps the last offset).
   */
  async syncClock(): Promise<number> {
    if (!this.redis) return 0;
    let best = Number.POSITIVE_INFINITY;
    for (let i = 0; i < 5; i++) {
      try {
        const t0 = performance.now();
        const [sec, usec] = await this.redis.time();
        const t1 = performance.now();
        if (t1 - t0 < best) {
          best = t1 - t0;
          const ours = performance.timeOrigin + (t0 + t1) / 2;
          this.offsetMs = Number(sec) * 1000 + Number(usec) / 1000 - ours;
        }
      } catch {
        break;
      }
    }
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
