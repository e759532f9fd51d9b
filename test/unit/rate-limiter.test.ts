import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LATE_TOLERANCE_MS,
  PACING_MARGIN_MS,
  type RateSpec,
  rateSpec,
} from '../../src/limits/policy-table.ts';
import { SlotRateLimiter } from '../../src/limits/rate-limiter.ts';
import {
  FRESH_SLOT,
  type LateWrite,
  lateFloors,
  quickestOffset,
  reserveSlots,
  type SlotMarks,
  type SlotState,
  type SlotWindow,
  wallMinusMonotonic,
  withFloors,
} from '../../src/limits/slots.ts';
import { redisMissing, redisUrlOrUndefined } from '../helpers/services.ts';
import { waitFor } from '../helpers/smpp.ts';
import { TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

const open: SlotRateLimiter[] = [];
const raws: Redis[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
  for (const r of raws.splice(0)) r.disconnect();
});
/** A plain connection to the test Redis, for writing and reading the limiter's keys directly. */
const rawRedis = async () => {
  const { Redis: Client } = await import('ioredis');
  const r = new Client(redisUrlOrUndefined()!);
  raws.push(r);
  return r;
};
const limiter = (url: string | undefined, prefix: string, clock?: () => number) => {
  const l = new SlotRateLimiter(url, prefix, 1_000, clock);
  open.push(l);
  return l;
};
const prefix = () => `test:limiter:${process.pid}:${Math.random().toString(36).slice(2)}:`;
const W = { leadMs: 0, horizonMs: 250 };

/** Senders asking for slots: each step `dt` ms after the last, one sender wanting `want`. */
const asks = (o: { maxDt: number; maxWant: number; maxLength: number }) =>
  fc.array(
    fc.record({
      dt: fc.integer({ min: 0, max: o.maxDt }),
      sender: fc.nat(),
      want: fc.integer({ min: 0, max: o.maxWant }),
    }),
    { minLength: 1, maxLength: o.maxLength },
  );

/** Most slots in any sliding window of `span` ms (`ts` ascending; a window [t, t + span)). */
function mostIn(ts: number[], span = 1000): number {
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < ts.length; hi++) {
    while (ts[hi]! - ts[lo]! >= span) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

/** Limits' states kept as the in-memory limiter keeps them, and a reservation under them. */
function slotBook() {
  const states = new Map<string, SlotState>();
  return {
    states,
    reserve(limits: RateSpec[], want: number, now: number, w: SlotWindow = W) {
      const st = limits.map((l) => states.get(l.key) ?? FRESH_SLOT);
      const r = reserveSlots(st, limits, now, want, w);
      if (r.granted > 0) for (const [i, l] of limits.entries()) states.set(l.key, r.states[i]!);
      const marks: SlotMarks = {
        keys: limits.map((l) => l.key),
        spacings: limits.map((l) => l.spacingMs),
        allowances: limits.map((l) => l.allowance),
        firstPos: st.map((x) => x.seq),
        refs: r.times,
      };
      return { ...r, marks };
    },
    report(writes: LateWrite[]) {
      for (const [key, f] of lateFloors(writes)) {
        const st = states.get(key);
        if (st) states.set(key, withFloors(st, f.floors, f.spacing));
      }
    },
  };
}

/**
 * Several senders, each with its own number limit, sharing a campaign, asking at irregular times
 * (a dispatcher's returns) with irregular wants: every slot each limit gave, in order.
 */
function simulate(
  numberRate: number,
  campaignRate: number,
  senders: number,
  steps: Array<{ dt: number; sender: number; want: number }>,
): Map<string, number[]> {
  const book = slotBook();
  const campaign = rateSpec('c', 'campaign', campaignRate);
  const numbers = Array.from({ length: senders }, (_, i) => rateSpec(`n${i}`, 'number', numberRate));
  const slots = new Map<string, number[]>([
    ['c', []],
    ...numbers.map((n) => [n.key, []] as [string, number[]]),
  ]);
  let now = 1_000_000;
  for (const s of steps) {
    now += s.dt;
    const n = numbers[s.sender % senders]!;
    const r = book.reserve([n, campaign], s.want, now);
    for (const t of r.times) {
      slots.get(n.key)!.push(t);
      slots.get('c')!.push(t);
    }
  }
  for (const v of slots.values()) v.sort((a, b) => a - b);
  return slots;
}

/**
 * A dispatcher coming back every 20–120 ms for `seconds`, always with more than it may send,
 * writing each slot late as `lateOf` says (up to MAX_LATE_MS; later is withdrawn) and reporting
 * the writes later than the tolerance as the policy does: how many it wrote.
 */
function steadyDemand(spec: RateSpec, seconds: number, lateOf: (i: number) => number): number {
  const book = slotBook();
  let pending: LateWrite[] = [];
  let written = 0;
  let now = 0;
  let n = 0;
  for (let i = 0; now < seconds * 1000; i++) {
    now += 20 + ((i * 37) % 100);
    book.report(pending);
    pending = [];
    const r = book.reserve([spec], 1000, now, { leadMs: 50, horizonMs: 500 });
    for (let j = 0; j < r.granted; j++) {
      const late = lateOf(n++);
      if (late > spec.lateMs) continue;
      written++;
      if (late > LATE_TOLERANCE_MS)
        pending.push({ marks: r.marks, index: j, lateMs: late - LATE_TOLERANCE_MS });
    }
  }
  return written;
}

describe('send slots (the arithmetic)', () => {
  const fresh = (next = 0): SlotState => ({ next, seq: 0, floors: [] });
  const lim = (spacingMs: number, allowance = 1) => ({ spacingMs, allowance });

  it('spaces slots by the widest limit, from the latest next slot, within the horizon', () => {
    // A number at 100/s (10.1 ms) under a campaign at 20/s (50.5 ms): the campaign paces.
    const r = reserveSlots([fresh(), fresh(1_000_020)], [lim(10.1, 100), lim(50.5, 20)], 1_000_000, 10, {
      leadMs: 0,
      horizonMs: 250,
    });
    expect(r.first).toBe(1_000_020);
    expect(r.step).toBe(50.5);
    expect(r.granted).toBe(5); // 20, 70.5, 121, 171.5, 222 (≤ 250)
    expect(r.times).toEqual([0, 1, 2, 3, 4].map((k) => 1_000_020 + k * 50.5));
    const last = 1_000_020 + 4 * 50.5;
    expect(r.states.map((x) => x.next)).toEqual([last + 10.1, last + 50.5]);
    expect(r.states.map((x) => x.seq)).toEqual([5, 5]);
    expect(r.nextAt).toBe(last + 50.5);
    // Nothing within the horizon: nothing taken, nothing moved.
    const none = reserveSlots([fresh(1_000_300)], [lim(100)], 1_000_000, 3, { leadMs: 0, horizonMs: 250 });
    expect(none).toMatchObject({ granted: 0, first: 1_000_300, states: [fresh(1_000_300)] });
    // A limit not in use starts at the lead, not in the past.
    expect(reserveSlots([fresh()], [lim(100)], 5_000, 1, { leadMs: 50, horizonMs: 250 }).first).toBe(5_050);
  });

  it('keeps the rate rounded up in any sliding second, however the asks fall (regression: the token bucket let a second carry the rate plus one refill)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0.4, 1, 1.25, 3, 4, 16, 30, 75, 100),
        fc.constantFrom(1.25, 4, 16, 30, 75, 1000),
        fc.integer({ min: 1, max: 5 }),
        asks({ maxDt: 400, maxWant: 40, maxLength: 300 }),
        (nr, cr, senders, steps) => {
          const slots = simulate(nr, cr, senders, steps);
          for (const [key, ts] of slots) {
            const rate = key === 'c' ? cr : nr;
            const allowance = Math.max(1, Math.ceil(rate));
            expect(mostIn(ts)).toBeLessThanOrEqual(allowance);
            // With the margin: a submit up to the pacing margin late still leaves every second
            // within the allowance.
            expect(mostIn(ts, 1000 + PACING_MARGIN_MS - 0.001)).toBeLessThanOrEqual(allowance);
          }
        },
      ),
      { numRuns: 400 },
    );
  });

  it('reaches the rate under steady demand: at most the margin under it', () => {
    for (const rate of [0.4, 1, 1.25, 3, 16, 30, 75, 100]) {
      const achieved = steadyDemand(rateSpec('k', 'number', rate), 60, () => 0) / 60;
      expect(achieved).toBeLessThanOrEqual(rate * 1.01 + 1 / 60);
      expect(achieved).toBeGreaterThanOrEqual(rate * (1 - PACING_MARGIN_MS / 1000) * 0.99);
    }
  });
});

describe('late writes (regression: bench:limits saw 8 campaigns over their allowance in a second, a slot written 16–30 ms late and the one a second after it on time)', () => {
  it('a late write floors the slot an allowance after it, at the write plus the allowance in spacings, and nothing else', () => {
    const spec = rateSpec('k', 'campaign', 30); // 30 a second, 1010/30 ms apart
    const book = slotBook();
    const a = book.reserve([spec], 8, 1_000_000);
    expect(a.granted).toBe(8);
    // The 1st slot written 40 ms late (after the tolerance): the 31st is floored.
    book.report([{ marks: a.marks, index: 0, lateMs: 40 }]);
    expect(book.states.get('k')!.floors).toEqual([{ pos: 30, at: 1_000_000 + 40 + 30 * spec.spacingMs }]);
    const b = book.reserve([spec], 40, 1_000_250, { leadMs: 0, horizonMs: 2_000 });
    const grid = (k: number) => 1_000_000 + k * spec.spacingMs;
    // Slots 8..29 on the grid; the 31st 40 ms late, after the 32nd; then the grid again.
    for (let k = 8; k < 30; k++) expect(b.times[k - 8]).toBeCloseTo(grid(k), 6);
    expect(b.times[30 - 8]).toBeCloseTo(grid(30) + 40, 6);
    expect(b.times[31 - 8]).toBeCloseTo(grid(31), 6);
    expect(b.times[32 - 8]).toBeCloseTo(grid(32), 6);
    // The slot held back floors the one a second after it in turn (the 61st).
    expect(book.states.get('k')!.floors).toEqual([{ pos: 60, at: grid(30) + 40 + 30 * spec.spacingMs }]);
    // A report on a slot whose floor position is already given comes too late: dropped.
    book.report([{ marks: a.marks, index: 1, lateMs: 40 }]);
    expect(book.states.get('k')!.floors).toHaveLength(1);
  });

  it('a late write costs the rate a fraction of a slot, not every slot after it (regression: on the slowest VM, moving every later slot by each lateness left the fast limits 2.2–2.8 % under their rate)', () => {
    // Lateness as bench:limits measured it there (writes after their slot: 80 % within the 5-ms
    // tolerance, 14 % 5–25 ms, 2 % 25–50, 1.5 % 50–100, 1 % 100–200), a fixed pseudo-random draw.
    // Moving every later slot by each lateness, as before, cost 4.1 % at 16/s, 6.6 % at 30/s and
    // 13.9 % at 100/s in this same simulation.
    for (const rate of [3, 16, 30, 75, 100]) {
      let seed = 11;
      const late = () => {
        seed = (seed * 1103515245 + 12345) % 2 ** 31;
        const u = seed / 2 ** 31;
        if (u < 0.8) return u * 6.25;
        if (u < 0.94) return 5 + ((u - 0.8) / 0.14) * 20;
        if (u < 0.96) return 25 + ((u - 0.94) / 0.02) * 25;
        if (u < 0.975) return 50 + ((u - 0.96) / 0.015) * 50;
        return u < 0.985 ? 100 + ((u - 0.975) / 0.01) * 100 : 2;
      };
      const spec = rateSpec('k', 'campaign', rate);
      const ontime = steadyDemand(spec, 60, () => 0);
      const achieved = steadyDemand(spec, 60, late);
      expect(achieved / ontime, `rate ${rate}`).toBeGreaterThanOrEqual(0.99);
    }
  });

  it('moves the grid of a limit too fast to keep floors for, by the lateness only (regression: a limit of 1,000,000 a second kept floors a second ahead and stopped for a second at each collapse, bench with limits on 5,493 → 2,170 final-status/s)', () => {
    const spec = rateSpec('big', 'number', 1_000_000);
    const book = slotBook();
    let now = 1_000_000;
    for (let round = 0; round < 50; round++) {
      const r = book.reserve([spec], 500, now, { leadMs: 0, horizonMs: 250 });
      expect(r.granted).toBe(500);
      // Every write so far was 40 ms late, and each is past by now: nothing holds the limit back.
      expect(r.first).toBe(now);
      book.report(r.times.map((_, index) => ({ marks: r.marks, index, lateMs: 40 })));
      expect(book.states.get('big')!.floors).toEqual([]);
      now += 50;
    }
  });

  it('reduces a turn of late writes to the latest floor per position, the same as applying each (what Redis is sent)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom('a', 'b', 'c'),
            firstPos: fc.integer({ min: 100_000, max: 100_040 }),
            index: fc.integer({ min: 0, max: 20 }),
            ref: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_001_000 }),
            lateMs: fc.double({ min: 0, max: 200, noNaN: true }),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 100_000, max: 100_060 }),
        (ws, seq) => {
          const spec = {
            a: rateSpec('a', 'number', 100),
            b: rateSpec('b', 'number', 30),
            c: rateSpec('c', 'number', 1),
          };
          const writes: LateWrite[] = ws.map((w) => ({
            marks: {
              keys: [w.key],
              spacings: [spec[w.key].spacingMs],
              allowances: [spec[w.key].allowance],
              firstPos: [w.firstPos],
              refs: Array.from({ length: 21 }, (_, i) => w.ref + i * spec[w.key].spacingMs),
            },
            index: w.index,
            lateMs: w.lateMs,
          }));
          const start: SlotState = { next: 1_700_000_000_000, seq, floors: [] };
          for (const [key, f] of lateFloors(writes)) {
            let one = start;
            for (const w of writes.filter((x) => x.marks.keys[0] === key))
              one = withFloors(one, lateFloors([w]).get(key)!.floors, f.spacing);
            expect(withFloors(start, f.floors, f.spacing)).toEqual(one);
          }
        },
      ),
    );
  });

  it('keeps the allowance in every sliding second of what is written, however late each slot goes out (up to its last moment), once late writes are reported', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0.4, 1, 1.25, 3, 16, 30, 75, 100),
        fc.constantFrom(1.25, 4, 16, 30, 75, 1000),
        fc.integer({ min: 1, max: 4 }),
        asks({ maxDt: 300, maxWant: 30, maxLength: 250 }),
        fc.array(fc.integer({ min: 0, max: 220 }), { minLength: 1, maxLength: 40 }),
        (nr, cr, senders, steps, lates) => {
          const campaign = rateSpec('c', 'campaign', cr);
          const numbers = Array.from({ length: senders }, (_, i) => rateSpec(`n${i}`, 'number', nr));
          const book = slotBook();
          const writes = new Map<string, number[]>();
          let pending: Array<{ at: number; write: LateWrite }> = [];
          let li = 0;
          let now = 1_000_000;
          for (const s of steps) {
            now += s.dt;
            // Reports of writes made by now have reached the limiter (they take a round trip
            // after the write; the slot a second later is given at most a horizon ahead).
            book.report(pending.filter((x) => x.at <= now).map((x) => x.write));
            pending = pending.filter((x) => x.at > now);
            const limits = [numbers[s.sender % senders]!, campaign];
            const r = book.reserve(limits, s.want, now, { leadMs: 50, horizonMs: 500 });
            const lastMoment = Math.min(...limits.map((l) => l.lateMs));
            for (let j = 0; j < r.granted; j++) {
              const late = lates[li++ % lates.length]!;
              if (late > lastMoment) continue; // withdrawn: its slot goes unused
              const w = r.times[j]! + late;
              for (const l of limits) writes.set(l.key, [...(writes.get(l.key) ?? []), w]);
              if (late > LATE_TOLERANCE_MS)
                pending.push({
                  at: w,
                  write: { marks: r.marks, index: j, lateMs: late - LATE_TOLERANCE_MS },
                });
            }
          }
          for (const [key, ws] of writes) {
            ws.sort((a, b) => a - b);
            const allowance = Math.max(1, Math.ceil(key === 'c' ? cr : nr));
            // What the margin keeps for the way to the SMSC is still there.
            const span = 1000 + PACING_MARGIN_MS - LATE_TOLERANCE_MS - 0.001;
            expect(mostIn(ws, span)).toBeLessThanOrEqual(allowance);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('floors a limit in memory as the arithmetic does, and only the limits of that slot', async () => {
    let clock = 1_000_000;
    const l = limiter(undefined, prefix(), () => clock);
    const n = rateSpec('n:+1', 'number', 30);
    const other = rateSpec('n:+2', 'number', 30);
    const r = await l.reserve([n], 10, { leadMs: 0, horizonMs: 250 });
    const o = await l.reserve([other], 10, { leadMs: 0, horizonMs: 250 });
    expect(r.granted).toBe(8);
    // The first slot written 40 ms late: the 31st slot comes 30 spacings after the write.
    await l.wroteLate([{ marks: r.marks, index: 0, lateMs: 40 }]);
    clock += 250;
    const a = await l.reserve([n], 30, { leadMs: 0, horizonMs: 2_000 });
    expect(a.times[21]).toBeCloseTo(1_000_000 + 29 * n.spacingMs, 2); // the 30th on the grid
    expect(a.times[22]).toBeCloseTo(1_000_000 + 40 + 30 * n.spacingMs, 2);
    const b = await l.reserve([other], 30, { leadMs: 0, horizonMs: 2_000 });
    expect(b.times[22]).toBeCloseTo(o.times[0]! + 30 * other.spacingMs, 2);
  });
});

describe('the slot rate limiter', () => {
  it('reserves in memory without Redis: slots one spacing apart, the rest told when', async () => {
    let clock = 1_000_000;
    const l = limiter(undefined, prefix(), () => clock);
    const spec = rateSpec('n:+1', 'number', 4); // (1000 + margin) / 4 apart
    const a = await l.reserve([spec], 10, W);
    expect(a.granted).toBe(1);
    expect(a.firstAt).toBe(clock);
    expect(a.nextAt).toBeCloseTo(clock + spec.spacingMs, 6);
    clock += spec.spacingMs - 250;
    const b = await l.reserve([spec], 10, W);
    expect(b).toMatchObject({ granted: 1 });
    expect(b.firstAt).toBeCloseTo(1_000_000 + spec.spacingMs, 6);
    expect(l.size).toBe(1);
  });

  it('computes in Redis exactly what the arithmetic computes (the script against reserveSlots)', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    let clock = 2_000_000;
    const p = prefix();
    const viaRedis = limiter(redisUrlOrUndefined(), p, () => clock);
    const local = limiter(undefined, p, () => clock);
    const specs = [
      rateSpec('n:+7', 'number', 3),
      rateSpec('c:x', 'campaign', 16),
      rateSpec('n:+8', 'number', 100),
      rateSpec('n:+9', 'number', 1_000_000), // floors too far ahead to keep: the grid moves
    ];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 200; i++) {
      clock += rnd(300) + 0.5;
      const limits =
        i % 3 === 0 ? [specs[0]!, specs[1]!] : i % 3 === 1 ? [specs[2]!, specs[1]!] : [specs[2]!, specs[3]!];
      const want = rnd(12);
      const window = { leadMs: rnd(2) * 50, horizonMs: 250 };
      const [r, o] = await Promise.all([
        viaRedis.reserve(limits, want, window),
        local.reserve(limits, want, window),
      ]);
      expect(r.granted).toBe(o.granted);
      expect(r.firstAt).toBeCloseTo(o.firstAt, 2);
      expect(r.stepMs).toBeCloseTo(o.stepMs, 2);
      expect(r.nextAt).toBeCloseTo(o.nextAt, 2);
      expect(r.times.length).toBe(o.times.length);
      for (const [j, t] of r.times.entries()) expect(t).toBeCloseTo(o.times[j]!, 2);
      expect(r.marks.firstPos).toEqual(o.marks.firstPos);
      // Some slots are written late: both floor their limits the same way.
      if (r.granted > 0 && rnd(2) === 0) {
        const late = { index: rnd(r.granted), lateMs: rnd(180) + 0.25 };
        await Promise.all([
          viaRedis.wroteLate([{ marks: r.marks, ...late }]),
          local.wroteLate([{ marks: o.marks, ...late }]),
        ]);
      }
    }
  });

  it('shares every limit across instances through Redis: their slots never crowd', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    const p = prefix();
    const a = limiter(redisUrlOrUndefined(), p);
    const b = limiter(redisUrlOrUndefined(), p);
    const spec = rateSpec('n:+3', 'number', 40);
    const takes = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        (i % 2 ? a : b).reserve([spec], 5, { leadMs: 0, horizonMs: 1_000 }),
      ),
    );
    const slots = takes.flatMap((t) => t.times).sort((x, y) => x - y);
    expect(slots.length).toBe(40);
    for (let i = 1; i < slots.length; i++)
      expect(slots[i]! - slots[i - 1]!).toBeGreaterThan(spec.spacingMs - 0.01);
    // A different prefix is a different limit (tests and deployments stay apart).
    const c = limiter(redisUrlOrUndefined(), prefix());
    expect((await c.reserve([spec], 5, { leadMs: 0, horizonMs: 1_000 })).granted).toBe(5);
    // Redis's clock and ours (Date.now) are one clock here: measured within a few ms.
    expect(Math.abs(await a.syncClock())).toBeLessThan(5);
  });

  it('uses the offset of the quickest round trip remembered (regression: under load a slow round trip put one instance 15 ms off the other, and its slots with it)', () => {
    expect(quickestOffset([])).toBe(0);
    expect(
      quickestOffset([
        { rttMs: 0.3, offsetMs: 0.1, at: 1 },
        { rttMs: 30, offsetMs: -14.9, at: 2 },
        { rttMs: 0.3, offsetMs: 0.2, at: 3 },
        { rttMs: 5, offsetMs: -2, at: 4 },
      ]),
    ).toBe(0.2);
  });

  it('relates the monotonic clock to Date.now to well under a millisecond (regression: the offset was measured on timeOrigin + performance.now, up to 2.5 ms off Date.now in a young process)', () => {
    // One reading can be preempted between its two clocks: the limiter keeps the median of a few.
    const median = () => Array.from({ length: 5 }, () => wallMinusMonotonic()).sort((x, y) => x - y)[2]!;
    const [a, b] = [median(), median()];
    expect(Math.abs(a - b)).toBeLessThan(0.5);
    // Date.now truncates: any instant's reading is within a millisecond below the estimate.
    const d = Date.now() - (performance.timeOrigin + performance.now());
    expect(d).toBeLessThanOrEqual(a + 0.5);
    expect(d).toBeGreaterThan(a - 1.5);
  });

  it('rides out a dropped and a silent Redis: reservations reject in bounded time, then work again', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    const target = new URL(redisUrlOrUndefined()!);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    try {
      const l = new SlotRateLimiter(viaProxy(redisUrlOrUndefined()!, proxy), prefix(), 300);
      open.push(l);
      const spec = rateSpec('n:+5', 'number', 1000);
      let first = 0;
      await waitFor(
        () => first === 1,
        5_000,
        'the first reservation',
        async () => {
          first = (await l.reserve([spec], 1, W).catch(() => ({ granted: 0 }))).granted;
        },
      );
      proxy.hang();
      const t0 = Date.now();
      await expect(l.reserve([spec], 1, W)).rejects.toThrow();
      expect(Date.now() - t0).toBeLessThan(2_000);
      proxy.up();
      proxy.cut();
      let granted = 0;
      await waitFor(
        () => granted === 1,
        10_000,
        'a reservation after the connection came back',
        async () => {
          granted = await l.reserve([spec], 1, W).then(
            (g) => g.granted,
            () => 0,
          );
        },
      );
    } finally {
      await proxy.stop();
    }
  });

  it('reads a limit whose Redis value it did not write as a fresh limit: no script error, no sender stopped, late reports leave it alone', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    let clock = 5_000_000;
    const p = prefix();
    const l = limiter(redisUrlOrUndefined(), p, () => clock);
    const raw = await rawRedis();
    const hostile = [
      'garbage',
      'x y',
      '1 y',
      'nan nan',
      '1e999 3',
      `${clock + 86_400_000} 7`, // a next slot a day ahead
      '5000100 -4',
      '5000100 1e300',
      '\u0000\u0000',
      'a'.repeat(100_000),
      '5000100 3 2 5000200', // a floor on a slot already given
      '5000100 3 4', // a position without its floor
      '5000100 3 4 nan',
      '5000100 3 4.5 5000200',
      `5000100 3 4 ${clock + 86_400_000}`,
      `5000100 3 ${Array.from({ length: 300 }, (_, i) => `${i + 4} 5000200`).join(' ')}`, // too many
    ];
    for (const [i, value] of hostile.entries()) {
      const spec = rateSpec(`n:+hostile${i}`, 'number', 4);
      await raw.set(`${p}slot:${spec.key}`, value);
      const r = await l.reserve([spec], 3, { leadMs: 0, horizonMs: 250 });
      expect(r.granted, value.slice(0, 20)).toBe(1);
      expect(r.firstAt).toBe(clock);
      expect(r.marks.firstPos).toEqual([0]);
      clock += 1;
    }
    // The late-write script skips a value it cannot read (and moves the rest as it should).
    const good = rateSpec('n:+good', 'number', 4);
    const r = await l.reserve([good], 1, { leadMs: 0, horizonMs: 250 });
    await raw.set(`${p}slot:n:+bad`, 'not a slot');
    const bad = { ...r.marks, keys: ['n:+bad'] };
    await l.wroteLate([
      { marks: bad, index: 0, lateMs: 40 },
      { marks: r.marks, index: 0, lateMs: 40 },
    ]);
    expect(await raw.get(`${p}slot:n:+bad`)).toBe('not a slot');
    clock += 100;
    // 4 a second: the 5th slot is floored at the write plus 4 spacings.
    const after = await l.reserve([good], 4, { leadMs: 0, horizonMs: 2_000 });
    expect(after.times[3]).toBeCloseTo(r.firstAt + 40 + 4 * good.spacingMs, 2);
    // Nor does a value the reservation script reads as fresh (a count of 1e300, a next slot a
    // day ahead) make the late-write script fail for the other limits of the same call.
    for (const [i, value] of hostile.entries()) {
      const mine = rateSpec(`n:+good${i}`, 'number', 4);
      const rr = await l.reserve([mine], 1, { leadMs: 0, horizonMs: 250 });
      const badKey = `n:+late-hostile${i}`;
      await raw.set(`${p}slot:${badKey}`, value);
      await l.wroteLate([
        { marks: { ...rr.marks, keys: [badKey] }, index: 0, lateMs: 40 },
        { marks: rr.marks, index: 0, lateMs: 40 },
      ]);
      expect(await raw.get(`${p}slot:${badKey}`), value.slice(0, 20)).toBe(value);
      const next = await l.reserve([mine], 4, { leadMs: 0, horizonMs: 100_000 });
      expect(next.times[3], value.slice(0, 20)).toBeCloseTo(rr.firstAt + 40 + 4 * mine.spacingMs, 2);
      clock += 1;
    }
  });

  it('floors the other limits of a call when one of them has been idle for over a second (regression: its expiry came out 0 or less, an error that failed the whole script)', async (ctx) => {
    const missing = redisMissing();
    if (missing) ctx.skip(missing);
    const clock = 7_000_000;
    const p = prefix();
    const l = limiter(redisUrlOrUndefined(), p, () => clock);
    const raw = await rawRedis();
    // Next slot 1.5 s ago, five slots given; a report of a write 1.4 s ago floors its 6th.
    await raw.set(`${p}slot:n:+idle`, `${clock - 1_500} 5`);
    const idle = {
      keys: ['n:+idle'],
      spacings: [100],
      allowances: [1],
      firstPos: [4],
      refs: [clock - 1_400],
    };
    const good = rateSpec('n:+busy', 'number', 4);
    const r = await l.reserve([good], 1, { leadMs: 0, horizonMs: 250 });
    await l.wroteLate([
      { marks: idle, index: 0, lateMs: 0 },
      { marks: r.marks, index: 0, lateMs: 40 },
    ]);
    expect(await raw.get(`${p}slot:n:+busy`)).toMatch(/ 4 /); // its 5th slot floored
  });

  it('rejects reservations while Redis cannot be reached (the policy defers)', async () => {
    const l = new SlotRateLimiter('redis://127.0.0.1:1', prefix(), 300);
    open.push(l);
    await expect(l.reserve([rateSpec('n:+4', 'number', 1)], 1, W)).rejects.toThrow();
    // Past the first timeout of an outage, reservations reject at once: nothing piles up to
    // fire when Redis comes back.
    const t0 = Date.now();
    for (let i = 0; i < 100; i++)
      await expect(l.reserve([rateSpec('n:+4', 'number', 1)], 1, W)).rejects.toThrow(/not connected/);
    expect(Date.now() - t0).toBeLessThan(200);
  });
});
