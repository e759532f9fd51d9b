import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import {
  LATE_TOLERANCE_MS,
  PACING_MARGIN_MS,
  type RateSpec,
  rateSpec,
} from '../../src/limits/policy-table.ts';
import { SlotRateLimiter } from '../../src/limits/rate-limiter.ts';
import {
  lateFloor,
  lateFloors,
  quickestOffset,
  reserveSlots,
  wallMinusMonotonic,
} from '../../src/limits/slots.ts';
import { redisMissing, redisUrlOrUndefined } from '../helpers/services.ts';
import { waitFor } from '../helpers/smpp.ts';
import { TcpProxy, viaProxy } from '../helpers/tcp-proxy.ts';

const open: SlotRateLimiter[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((l) => l.close()));
});
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

/**
 * Several senders, each with its own number limit, sharing a campaign, asking at irregular times
 * (a dispatcher's returns) with irregular wants: every slot each limit gave, in order.
 */
function simulate(
  ask: (limits: RateSpec[], want: number, now: number) => { granted: number; first: number; step: number },
  numberRate: number,
  campaignRate: number,
  senders: number,
  steps: Array<{ dt: number; sender: number; want: number }>,
): Map<string, number[]> {
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
    const r = ask([n, campaign], s.want, now);
    for (let j = 0; j < r.granted; j++) {
      slots.get(n.key)!.push(r.first + j * r.step);
      slots.get('c')!.push(r.first + j * r.step);
    }
  }
  for (const v of slots.values()) v.sort((a, b) => a - b);
  return slots;
}

describe('send slots (the arithmetic)', () => {
  it('spaces slots by the widest limit, from the latest next slot, within the horizon', () => {
    // A number at 100/s (10.15 ms) under a campaign at 20/s (50.75 ms): the campaign paces.
    const r = reserveSlots([0, 1_000_020], [10.15, 50.75], 1_000_000, 10, { leadMs: 0, horizonMs: 250 });
    expect(r.first).toBe(1_000_020);
    expect(r.step).toBe(50.75);
    expect(r.granted).toBe(5); // 20, 70.75, 121.5, 172.25, 223 (≤ 250)
    const last = 1_000_020 + 4 * 50.75;
    expect(r.next).toEqual([last + 10.15, last + 50.75]);
    // Nothing within the horizon: nothing taken, nothing moved.
    const none = reserveSlots([1_000_300], [100], 1_000_000, 3, { leadMs: 0, horizonMs: 250 });
    expect(none).toMatchObject({ granted: 0, first: 1_000_300, next: [1_000_300] });
    // A limit not in use starts at the lead, not in the past.
    expect(reserveSlots([0], [100], 5_000, 1, { leadMs: 50, horizonMs: 250 }).first).toBe(5_050);
  });

  it('keeps the rate rounded up in any sliding second, however the asks fall (regression: the token bucket let a second carry the rate plus one refill)', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(0.4, 1, 1.25, 3, 4, 16, 30, 75, 100),
        fc.constantFrom(1.25, 4, 16, 30, 75, 1000),
        fc.integer({ min: 1, max: 5 }),
        asks({ maxDt: 400, maxWant: 40, maxLength: 300 }),
        (nr, cr, senders, steps) => {
          const next = new Map<string, number>();
          const slots = simulate(
            (limits, want, now) => {
              const r = reserveSlots(
                limits.map((l) => next.get(l.key) ?? 0),
                limits.map((l) => l.spacingMs),
                now,
                want,
                W,
              );
              if (r.granted > 0) for (const [i, l] of limits.entries()) next.set(l.key, r.next[i]!);
              return r;
            },
            nr,
            cr,
            senders,
            steps,
          );
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
      const spec = rateSpec('k', 'number', rate);
      let next = 0;
      let n = 0;
      // A dispatcher coming back every 20–120 ms for 60 s, always with more than it may send.
      let now = 0;
      for (let i = 0; now < 60_000; i++) {
        now += 20 + ((i * 37) % 100);
        const r = reserveSlots([next], [spec.spacingMs], now, 1000, { leadMs: 50, horizonMs: 250 });
        if (r.granted > 0) next = r.next[0]!;
        n += r.granted;
      }
      const achieved = n / 60;
      expect(achieved).toBeLessThanOrEqual(rate * 1.01 + 1 / 60);
      expect(achieved).toBeGreaterThanOrEqual(rate * (1 - PACING_MARGIN_MS / 1000) * 0.99);
    }
  });
});

describe('late writes (regression: bench:limits saw 8 campaigns over their allowance in a second, a slot written 16–30 ms late and the one a second after it on time)', () => {
  it('a late write moves the next free slot so that the slot a sequence of n after it is n spacings after the write', () => {
    // Slots 10..14 given (next free: the 15th, at 1_000 + 5 × 50); the 10th written 30 ms late.
    expect(lateFloor(1_250, 15, 10, 50, 1_030)).toBe(1_280);
    // Its neighbour written as late changes nothing more (the same requirement).
    expect(lateFloor(1_280, 15, 11, 50, 1_080)).toBe(1_280);
    // Written less late than a later move asks for: nothing moves back.
    expect(lateFloor(1_280, 15, 12, 50, 1_100)).toBe(1_280);
    // Idle since: a next slot long past is moved from the write.
    expect(lateFloor(0, 15, 14, 50, 5_000)).toBe(5_050);
  });

  it('reduces a turn of late writes to one floor per limit, the same as applying each (what Redis is sent)', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            key: fc.constantFrom('a', 'b', 'c'),
            spacing: fc.constantFrom(10.15, 33.83, 1015),
            firstPos: fc.integer({ min: 0, max: 100_000 }),
            index: fc.integer({ min: 0, max: 20 }),
            firstRef: fc.integer({ min: 1_700_000_000_000, max: 1_700_000_100_000 }),
            lateMs: fc.double({ min: 0, max: 200, noNaN: true }),
          }),
          { maxLength: 30 },
        ),
        fc.integer({ min: 100_000, max: 200_000 }),
        (ws, seq) => {
          const spacingOf = new Map<string, number>();
          const writes = ws.map((w) => {
            const spacing = spacingOf.get(w.key) ?? w.spacing;
            spacingOf.set(w.key, spacing);
            return {
              marks: {
                keys: [w.key],
                spacings: [spacing],
                firstPos: [w.firstPos],
                firstRef: w.firstRef,
                stepMs: spacing,
              },
              index: w.index,
              lateMs: w.lateMs,
            };
          });
          const floors = lateFloors(writes);
          for (const key of spacingOf.keys()) {
            let one = 0;
            for (const w of writes.filter((x) => x.marks.keys[0] === key)) {
              const at = w.marks.firstRef + w.index * w.marks.stepMs + w.lateMs;
              one = lateFloor(one, seq, w.marks.firstPos[0]! + w.index, w.marks.spacings[0]!, at);
            }
            const f = floors.get(key)!;
            expect(Math.max(0, f.base + seq * f.spacing)).toBeCloseTo(one, 3);
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
          const state = new Map<string, { next: number; seq: number }>();
          const writes = new Map<string, number[]>();
          let pending: Array<{ at: number; key: string; pos: number; spacing: number }> = [];
          let li = 0;
          let now = 1_000_000;
          for (const s of steps) {
            now += s.dt;
            // Reports of writes made by now have reached the limiter (they take a round trip
            // after the write; the slot a second later is given at most a horizon ahead).
            pending.sort((a, b) => a.at - b.at);
            for (const r of pending.filter((x) => x.at + LATE_TOLERANCE_MS <= now)) {
              const st = state.get(r.key)!;
              st.next = lateFloor(st.next, st.seq, r.pos, r.spacing, r.at);
            }
            pending = pending.filter((x) => x.at + LATE_TOLERANCE_MS > now);
            const limits = [numbers[s.sender % senders]!, campaign];
            const st = limits.map((l) => state.get(l.key) ?? { next: 0, seq: 0 });
            const r = reserveSlots(
              st.map((x) => x.next),
              limits.map((l) => l.spacingMs),
              now,
              s.want,
              { leadMs: 50, horizonMs: 250 },
              st.map((x) => x.seq),
            );
            if (r.granted === 0) continue;
            for (const [i, l] of limits.entries()) state.set(l.key, { next: r.next[i]!, seq: r.seqs[i]! });
            const lastMoment = Math.min(...limits.map((l) => l.lateMs));
            for (let j = 0; j < r.granted; j++) {
              const late = lates[li++ % lates.length]!;
              if (late > lastMoment) continue; // withdrawn: its slot goes unused
              const w = r.first + j * r.step + late;
              for (const [i, l] of limits.entries()) {
                writes.set(l.key, [...(writes.get(l.key) ?? []), w]);
                if (late > LATE_TOLERANCE_MS)
                  pending.push({
                    at: w - LATE_TOLERANCE_MS,
                    key: l.key,
                    pos: st[i]!.seq + j,
                    spacing: l.spacingMs,
                  });
              }
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

  it('moves a limit in memory as the arithmetic does, and only the limits of that slot', async () => {
    let clock = 1_000_000;
    const l = limiter(undefined, prefix(), () => clock);
    const n = rateSpec('n:+1', 'number', 30);
    const other = rateSpec('n:+2', 'number', 30);
    const r = await l.reserve([n], 10, { leadMs: 0, horizonMs: 250 });
    const o = await l.reserve([other], 10, { leadMs: 0, horizonMs: 250 });
    expect(r.granted).toBe(8);
    // The first slot written 40 ms late: the 9th slot (next free) is 8 spacings after the write.
    await l.wroteLate([{ marks: r.marks, index: 0, lateMs: 40 }]);
    clock += 250;
    const a = await l.reserve([n], 1, { leadMs: 0, horizonMs: 250 });
    expect(a.firstAt).toBeCloseTo(1_000_000 + 40 + 8 * n.spacingMs, 2);
    const b = await l.reserve([other], 1, { leadMs: 0, horizonMs: 250 });
    expect(b.firstAt).toBeCloseTo(o.firstAt + o.granted * other.spacingMs, 2);
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
    ];
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    for (let i = 0; i < 200; i++) {
      clock += rnd(300) + 0.5;
      const limits =
        i % 3 === 0 ? [specs[0]!, specs[1]!] : i % 3 === 1 ? [specs[2]!, specs[1]!] : [specs[2]!];
      const want = rnd(12);
      const window = { leadMs: rnd(2) * 50, horizonMs: 250 };
      const [r, o] = await Promise.all([
        viaRedis.reserve(limits, want, window),
        local.reserve(limits, want, window),
      ]);
      expect(r.granted).toBe(o.granted);
      expect(r.firstAt).toBeCloseTo(o.firstAt, 2);
      expect(r.stepMs).toBeCloseTo(o.stepMs, 2);
      expect(r.marks.firstPos).toEqual(o.marks.firstPos);
      // Some slots are written late: both move their limits the same way.
      if (r.granted > 0 && rnd(2) === 0) {
        const late = { index: rnd(r.granted), lateMs: rnd(80) + 0.25 };
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
    const slots = takes
      .flatMap((t) => Array.from({ length: t.granted }, (_, j) => t.firstAt + j * t.stepMs))
      .sort((x, y) => x - y);
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
    const { Redis } = await import('ioredis');
    const raw = new Redis(redisUrlOrUndefined()!);
    try {
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
      const after = await l.reserve([good], 1, { leadMs: 0, horizonMs: 400 });
      expect(after.firstAt).toBeCloseTo(r.firstAt + 40 + good.spacingMs, 2);
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
        const next = await l.reserve([mine], 1, { leadMs: 0, horizonMs: 100_000 });
        expect(next.firstAt, value.slice(0, 20)).toBeCloseTo(rr.firstAt + 40 + mine.spacingMs, 2);
        clock += 1;
      }
    } finally {
      raw.disconnect();
    }
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
