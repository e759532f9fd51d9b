import { describe, expect, it } from 'vitest';
import { rateLimitPolicy } from '../../src/limits/limits-policy.ts';
import {
  DEFAULT_LIMIT_TABLE,
  mergeLimits,
  rateSpec,
  type SenderProfile,
} from '../../src/limits/policy-table.ts';
import type { LimitsStore } from '../../src/limits/ports.ts';
import { BottleneckRateLimiter } from '../../src/limits/rate-limiter.ts';
import type { ClaimedSegment } from '../../src/messaging/model.ts';
import { Pipeline } from '../../src/messaging/pipeline.ts';

const seg = (
  from: string,
  i: number,
  numberType: ClaimedSegment['numberType'] = 'toll_free',
): ClaimedSegment => ({
  messageId: `m-${from}-${i}`,
  idx: 0,
  parts: 1,
  from,
  to: '+14155550100',
  numberType,
  payload: Buffer.from('x'),
  dataCoding: 0,
  esmClass: 0,
  usePayloadTlv: false,
  profile: '',
  expiresAt: new Date(Date.now() + 60_000),
  attempts: 0,
  resends: 0,
});

class FakeStore implements LimitsStore {
  daily = new Map<string, number>();
  backlog = new Map<string, Date>();
  constructor(private readonly profiles: SenderProfile[]) {}
  async senderProfiles(e164s: readonly string[]) {
    return new Map(this.profiles.filter((p) => e164s.includes(p.e164)).map((p) => [p.e164, p]));
  }
  async takeDaily(brandId: string, day: string, want: number, cap: number) {
    const k = `${brandId}/${day}`;
    const used = this.daily.get(k) ?? 0;
    const g = Math.max(0, Math.min(want, cap - used));
    this.daily.set(k, used + g);
    return g;
  }
  async setBacklog(entries: ReadonlyArray<{ e164: string; until: Date }>) {
    for (const e of entries) this.backlog.set(e.e164, e.until);
  }
  async countOverLimit() {}
}

function setup(profiles: SenderProfile[], table = DEFAULT_LIMIT_TABLE) {
  const store = new FakeStore(profiles);
  const limiter = new BottleneckRateLimiter(undefined, `unit:${Math.random()}:`);
  const deferred: Array<[string, number]> = [];
  const pipeline = new Pipeline<ClaimedSegment>([
    rateLimitPolicy({
      store,
      limiter,
      tableFor: () => table,
      carrierOf: (s) => (s.to.startsWith('+44') ? undefined : 'sim'),
      onDeferred: (k, n) => deferred.push([k, n]),
    }),
  ]);
  return { store, limiter, pipeline, deferred };
}

describe('the rate-limit policy', () => {
  it('lets a number send its rate and spreads the rest over the next intervals', async () => {
    const { pipeline, store, limiter, deferred } = setup([{ e164: '+18005550100', type: 'toll_free' }]);
    const segs = Array.from({ length: 10 }, (_, i) => seg('+18005550100', i));
    const t0 = Date.now();
    const v = await pipeline.run(segs);
    const kinds = v.map((x) => x.decision.kind);
    // 3 a second is one every 333 ms: one goes now, the rest each in its own slot after it,
    // asked back a fifth sooner than their slot (slack: a return that just misses a refill).
    expect(kinds.filter((k) => k === 'allow')).toHaveLength(1);
    const until = v.flatMap((x) => (x.decision.kind === 'defer' ? [x.decision.until.getTime() - t0] : []));
    expect(until).toHaveLength(9);
    for (const [j, ms] of until.entries()) expect(Math.abs(ms - (j + 1) * 333.33 * 0.8)).toBeLessThan(50);
    expect(v[3]!.decision).toMatchObject({ reason: 'rate_limited' });
    expect(deferred).toEqual([['number', 9]]);
    expect(store.backlog.get('+18005550100')!.getTime() - t0).toBeGreaterThan(2_900);
    // The next batch queues behind those already waiting, not on top of them.
    const more = await pipeline.run([seg('+18005550100', 99)]);
    const d = more[0]!.decision;
    expect(d.kind === 'defer' && Math.abs(d.until.getTime() - t0 - 10 * 333.33 * 0.8)).toBeLessThan(50);
    await limiter.close();
  });

  it('holds a campaign to its class on each carrier across its numbers, giving the numbers back what they could not use', async () => {
    const table = mergeLimits(DEFAULT_LIMIT_TABLE, { campaignPerMinute: { E: 1200 } }); // 20/s: 5 per 250 ms
    const profiles: SenderProfile[] = ['+15125550101', '+15125550102'].map((e164) => ({
      e164,
      type: 'local',
      campaignId: 'c1',
      throughputClass: 'E',
      brandId: 'b1',
    }));
    const { pipeline, limiter, deferred } = setup(profiles, table);
    const segs = [
      ...Array.from({ length: 4 }, (_, i) => seg('+15125550101', i, 'local')),
      ...Array.from({ length: 4 }, (_, i) => seg('+15125550102', i, 'local')),
    ];
    const v = await pipeline.run(segs);
    expect(v.filter((x) => x.decision.kind === 'allow')).toHaveLength(5);
    expect(deferred.reduce((s, [k, n]) => (k === 'campaign' ? s + n : s), 0)).toBe(3);
    // Each number's own rate (100/s) got back what the campaign refused.
    const n1 = (await limiter.take(rateSpec('n:+15125550101', 'number', 100), 1000)).granted;
    const n2 = (await limiter.take(rateSpec('n:+15125550102', 'number', 100), 1000)).granted;
    // (100/s is 25 per 250 ms each.)
    expect(n1 + n2).toBe(50 - 5);
    await limiter.close();
  });

  it('stops a brand at its daily cap until the next Pacific midnight', async () => {
    const table = mergeLimits(DEFAULT_LIMIT_TABLE, { brandPerDay: { A: 4 } });
    const { pipeline, limiter, store } = setup(
      [{ e164: '+15125550103', type: 'local', campaignId: 'c2', throughputClass: 'A', brandId: 'b2' }],
      table,
    );
    const v = await pipeline.run(Array.from({ length: 6 }, (_, i) => seg('+15125550103', i, 'local')));
    expect(v.filter((x) => x.decision.kind === 'allow')).toHaveLength(4);
    const held = v.filter((x) => x.decision.kind === 'defer').map((x) => x.decision);
    expect(held).toHaveLength(2);
    for (const d of held) {
      expect(d).toMatchObject({ reason: 'daily_cap_reached' });
      const until = (d as { until: Date }).until;
      const pt = new Intl.DateTimeFormat('en-US', {
        timeZone: 'America/Los_Angeles',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(until);
      expect(pt.startsWith('00:0')).toBe(true);
    }
    // The queue cap is about the rate: a day's wait is not a backlog to refuse new messages for.
    expect(store.backlog.has('+15125550103')).toBe(false);
    await limiter.close();
  });

  it('limits nothing it cannot route (the carrier policy defers those) and numbers it does not know by their type', async () => {
    const { pipeline, limiter } = setup([]);
    const v = await pipeline.run([
      seg('+18005550199', 1),
      seg('+18005550199', 2),
      seg('+18005550199', 3),
      seg('+18005550199', 4),
      { ...seg('+18005550199', 5), to: '+447700900000' },
    ]);
    expect(v.map((x) => x.decision.kind)).toEqual(['allow', 'defer', 'defer', 'defer', 'allow']);
    await limiter.close();
  });

  it('fails the batch when the limiter cannot answer (never sends unlimited)', async () => {
    const store = new FakeStore([{ e164: '+18005550100', type: 'toll_free' }]);
    const pipeline = new Pipeline<ClaimedSegment>([
      rateLimitPolicy({
        store,
        limiter: {
          size: 0,
          take: () => Promise.reject(new Error('redis away')),
          giveBack: async () => undefined,
          close: async () => undefined,
        },
        tableFor: () => DEFAULT_LIMIT_TABLE,
        carrierOf: () => 'sim',
      }),
    ]);
    await expect(pipeline.run([seg('+18005550100', 1)])).rejects.toThrow('redis away');
  });
});

describe('stale grants (regression: bench:limits saw single numbers twice within one interval)', () => {
  it('a grant held up past half an interval by another group is not used; its token goes back', async () => {
    // One group's daily-cap round trip takes a second (the clock is moved by the fake store): the
    // toll-free number's grant, taken at the start, would reach the carrier a second late, on top
    // of the next interval's own grant.
    let clock = Date.now();
    const store = new FakeStore([
      { e164: '+18005550100', type: 'toll_free' },
      { e164: '+15125550100', type: 'local', campaignId: 'c1', throughputClass: 'E', brandId: 'slow' },
    ]);
    const takeDaily = store.takeDaily.bind(store);
    store.takeDaily = async (...a) => {
      clock += 1_000;
      return takeDaily(...a);
    };
    const limiter = new BottleneckRateLimiter(undefined, `unit:${Math.random()}:`);
    const stale: number[] = [];
    const pipeline = new Pipeline<ClaimedSegment>([
      rateLimitPolicy({
        store,
        limiter,
        tableFor: () => DEFAULT_LIMIT_TABLE,
        carrierOf: () => 'sim',
        now: () => clock,
        onStaleGrants: (n) => stale.push(n),
      }),
    ]);
    const v = await pipeline.run([seg('+18005550100', 0), seg('+15125550100', 0, 'local')]);
    expect(v.map((x) => [x.decision.kind, x.decision.kind === 'defer' ? x.decision.reason : ''])).toEqual([
      ['defer', 'rate_limited'],
      ['allow', ''],
    ]);
    expect(stale).toEqual([1]);
    // Given back: the toll-free number's one-deep bucket is full again.
    expect((await limiter.take(rateSpec('n:+18005550100', 'number', 3), 1)).granted).toBe(1);
    await limiter.close();
  });
});
