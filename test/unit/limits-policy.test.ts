import { describe, expect, it } from 'vitest';
import {
  FLOOR_SLACK_MS,
  HORIZON_MS,
  LEAD_MS,
  RETURN_BEFORE_MS,
  rateLimitPolicy,
} from '../../src/limits/limits-policy.ts';
import {
  DEFAULT_LIMIT_TABLE,
  MAX_LATE_MS,
  mergeLimits,
  pacificDay,
  rateSpec,
  type SenderProfile,
} from '../../src/limits/policy-table.ts';
import type { DailyReturn, DailyTake, LimitsStore } from '../../src/limits/ports.ts';
import { SlotRateLimiter } from '../../src/limits/rate-limiter.ts';
import { DailyReturns, returnUnusedDaily, unusedDailyOf } from '../../src/limits/slot-tickets.ts';
import type { SlotMarks } from '../../src/limits/slots.ts';
import type { ClaimedSegment } from '../../src/messaging/model.ts';
import { type Decision, Pipeline } from '../../src/messaging/pipeline.ts';
import { claimedSegment } from '../helpers/core-fixtures.ts';
import { waitFor } from '../helpers/smpp.ts';

const seg = (
  from: string,
  i: number,
  numberType: ClaimedSegment['numberType'] = 'toll_free',
): ClaimedSegment => claimedSegment({ messageId: `m-${from}-${i}`, from, to: '+14155550100', numberType });

/** Slots one reservation gives a limit of this spacing: the first at the lead, up to the horizon. */
const slotsWithinHorizon = (spacingMs: number) => Math.floor((HORIZON_MS - LEAD_MS) / spacingMs) + 1;

class FakeStore implements LimitsStore {
  daily = new Map<string, number>();
  backlog = new Map<string, Date>();
  constructor(private readonly profiles: SenderProfile[]) {}
  async senderProfiles(e164s: readonly string[]) {
    return new Map(this.profiles.filter((p) => e164s.includes(p.e164)).map((p) => [p.e164, p]));
  }
  takes = 0;
  async takeDaily(day: string, takes: ReadonlyArray<DailyTake>) {
    this.takes++;
    const out = new Map<string, number>();
    for (const { brandId, want, cap } of takes) {
      if (out.has(brandId)) throw new Error(`brand ${brandId} twice in one take`);
      const k = `${brandId}/${day}`;
      const used = this.daily.get(k) ?? 0;
      const g = Math.max(0, Math.min(want, cap - used));
      this.daily.set(k, used + g);
      out.set(brandId, g);
    }
    return out;
  }
  returned: Array<[string, DailyReturn[]]> = [];
  async returnDaily(day: string, takes: ReadonlyArray<DailyReturn>) {
    this.returned.push([day, [...takes]]);
    for (const { brandId, want } of takes) {
      const k = `${brandId}/${day}`;
      this.daily.set(k, Math.max(0, (this.daily.get(k) ?? 0) - want));
    }
  }
  async setBacklog(entries: ReadonlyArray<{ e164: string; until: Date }>) {
    for (const e of entries) this.backlog.set(e.e164, e.until);
  }
  async countOverLimit() {}
}

/**
 * The limiter and the policy share a clock that stands still unless a test moves it: slot times are
 * then exact, however long a loaded machine takes for a run (regression: CI saw a 133 ms run turn
 * the first of a campaign's slots stale, three slots instead of four).
 */
function setup(profiles: SenderProfile[], table = DEFAULT_LIMIT_TABLE) {
  const store = new FakeStore(profiles);
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const limiter = new SlotRateLimiter(undefined, `unit:${Math.random()}:`, 1_000, now);
  const deferred: Array<[string, number]> = [];
  const stale: number[] = [];
  const pipeline = new Pipeline<ClaimedSegment>([
    rateLimitPolicy({
      store,
      limiter,
      tableFor: () => table,
      carrierOf: (s) => (s.to.startsWith('+44') ? undefined : 'sim'),
      onDeferred: (k, n) => deferred.push([k, n]),
      onStaleGrants: (n) => stale.push(n),
      now,
    }),
  ]);
  return { store, limiter, pipeline, deferred, stale, clock };
}

describe('the rate-limit policy', () => {
  // The slot a second after a late write is given up to HORIZON_MS ahead of it: the late report
  // (written up to MAX_LATE_MS after its slot, then one Redis round trip) must be in by then, or
  // that slot stays where it was and a sliding second carries one segment more than the rate.
  it('reserves no further ahead than a late write can still be reported', () => {
    const reportWayMs = 100;
    expect(HORIZON_MS + MAX_LATE_MS + reportWayMs).toBeLessThan(1_000);
    for (const perSecond of [0.1, 1, 3, 30, 100, 1_000])
      expect(rateSpec('k', 'number', perSecond).lateMs).toBeLessThanOrEqual(MAX_LATE_MS);
  });

  // Regression (issue 8, bench:limits): a held segment came back 470 ms before its slot with the
  // horizon 30 ms past that; a late write of the slot before had floored its slot by more than
  // 30 ms, so it was held again at the back of the queue and nobody took the slot (a gap of two
  // spacings in 15-17 slow limits a run).
  it('gives a held segment its slot when it comes back, though a late write before it floored the slot', async () => {
    const e164 = '+18005550200';
    const { pipeline, limiter, clock } = setup([{ e164, type: 'toll_free', perSecondOverride: 0.4 }]);
    const first = await pipeline.run([seg(e164, 0), seg(e164, 1)]);
    const [granted, held] = first.map((x) => x.decision);
    expect(granted).toMatchObject({ kind: 'allow' });
    expect(held).toMatchObject({ kind: 'defer', reason: 'rate_limited' });
    const { at, ticket } = granted as unknown as { at: number; ticket: { marks: SlotMarks; index: number } };
    const slot2 = at + rateSpec('k', 'number', 0.4).spacingMs;
    expect((held as { until: Date }).until.getTime()).toBe(slot2 - RETURN_BEFORE_MS);
    // The first segment left 100 ms after the tolerance: the slot after it moves by as much.
    await limiter.wroteLate([{ marks: ticket.marks, index: ticket.index, lateMs: 100 }]);
    clock.now = slot2 - RETURN_BEFORE_MS;
    const back = await pipeline.run([seg(e164, 1)]);
    expect(back[0]!.decision).toMatchObject({ kind: 'allow', at: slot2 + 100 });
    expect(100).toBeLessThanOrEqual(FLOOR_SLACK_MS);
    await limiter.close();
  });

  // Regression (issue 8, bench:limits): late writes shift a slow limit's slots past the plan its
  // held segments were asked back by (a chain of floors: 145 ms after a bulk start); one back
  // 615 ms before its slot was held again, at the back of the queue, and the slot went unused.
  it('has a held segment whose slot moved less than half a spacing wait for it exactly, ahead of the queue', async () => {
    const e164 = '+18005550201';
    const { pipeline, limiter, clock } = setup([{ e164, type: 'toll_free', perSecondOverride: 0.4 }]);
    const spacing = rateSpec('k', 'number', 0.4).spacingMs;
    const first = await pipeline.run([0, 1, 2, 3].map((i) => seg(e164, i)));
    const granted = first[0]!.decision as unknown as {
      at: number;
      ticket: { marks: SlotMarks; index: number };
    };
    const untils = first.slice(1).map((x) => (x.decision as { until: Date }).until.getTime());
    await limiter.wroteLate([{ marks: granted.ticket.marks, index: 0, lateMs: 300 }]);
    const slot2 = granted.at + spacing + 300;
    clock.now = untils[0]!;
    const back = { ...seg(e164, 1), heldForSlot: true };
    const fresh = seg(e164, 9);
    const v = await pipeline.run([fresh, back]);
    // Not within the horizon, so not granted; asked back for its moved slot, not after the queue.
    expect(v[1]!.decision).toMatchObject({ kind: 'defer', reason: 'rate_limited' });
    expect((v[1]!.decision as { until: Date }).until.getTime()).toBe(slot2 - RETURN_BEFORE_MS);
    expect((v[0]!.decision as { until: Date }).until.getTime()).toBeGreaterThan(untils.at(-1)!);
    clock.now = slot2 - RETURN_BEFORE_MS;
    expect((await pipeline.run([back]))[0]!.decision).toMatchObject({ kind: 'allow', at: slot2 });
    await limiter.close();
  });

  it('sends a held segment whose slot another took to the back of the queue', async () => {
    const e164 = '+18005550202';
    const { pipeline, limiter, clock } = setup([{ e164, type: 'toll_free', perSecondOverride: 0.4 }]);
    const first = await pipeline.run([0, 1, 2].map((i) => seg(e164, i)));
    const untils = first.slice(1).map((x) => (x.decision as { until: Date }).until.getTime());
    clock.now = untils[0]!;
    // Another instance's segment came back first and took the slot.
    const other = await pipeline.run([{ ...seg(e164, 7), heldForSlot: true }]);
    expect(other[0]!.decision).toMatchObject({ kind: 'allow' });
    const v = await pipeline.run([{ ...seg(e164, 1), heldForSlot: true }]);
    expect((v[0]!.decision as { until: Date }).until.getTime()).toBeGreaterThan(untils.at(-1)!);
    await limiter.close();
  });

  it('gives a number its next slot and spreads the rest one slot apart, each asked back before its slot', async () => {
    const { pipeline, store, limiter, deferred, stale, clock } = setup([
      { e164: '+18005550100', type: 'toll_free' },
    ]);
    const segs = Array.from({ length: 10 }, (_, i) => seg('+18005550100', i));
    const t0 = clock.now;
    const v = await pipeline.run(segs);
    const step = rateSpec('k', 'number', 3).spacingMs;
    // The slots within the horizon (the first at the lead, then a spacing apart) are given.
    const within = slotsWithinHorizon(step);
    const allowed = v.filter((x) => x.decision.kind === 'allow').map((x) => x.decision);
    expect(allowed).toHaveLength(within);
    const slot = allowed[0] as { at: number; by: number };
    expect(slot.at).toBe(t0 + LEAD_MS);
    expect(stale).toEqual([]);
    expect(slot.by - slot.at).toBe(rateSpec('k', 'number', 3).lateMs);
    const until = v.flatMap((x) => (x.decision.kind === 'defer' ? [x.decision.until.getTime() - t0] : []));
    expect(until).toHaveLength(10 - within);
    // Asked back between the lead and the horizon before their slots (just inside the horizon).
    const before = RETURN_BEFORE_MS;
    expect(before).toBeGreaterThan(LEAD_MS);
    expect(before).toBeLessThan(HORIZON_MS);
    for (const [j, ms] of until.entries())
      expect(Math.abs(ms - (slot.at - t0 + (j + within) * step - before))).toBeLessThan(1);
    expect(v[3]!.decision).toMatchObject({ reason: 'rate_limited' });
    expect(deferred).toEqual([['number', 10 - within]]);
    expect(store.backlog.get('+18005550100')!.getTime() - t0).toBeGreaterThan(2_900);
    // The next batch queues behind those already waiting, not on top of them.
    const more = await pipeline.run([seg('+18005550100', 99)]);
    const d = more[0]!.decision;
    expect(d.kind === 'defer' && Math.abs(d.until.getTime() - (slot.at + 10 * step - before))).toBeLessThan(
      1,
    );
    await limiter.close();
  });

  it('holds a campaign to its class on each carrier across its numbers, leaving the numbers it held alone', async () => {
    const table = mergeLimits(DEFAULT_LIMIT_TABLE, { campaignPerMinute: { E: 1200 } }); // 20/s
    const profiles: SenderProfile[] = ['+15125550101', '+15125550102'].map((e164) => ({
      e164,
      type: 'local',
      campaignId: 'c1',
      throughputClass: 'E',
      brandId: 'b1',
    }));
    const { pipeline, limiter, deferred, stale, clock } = setup(profiles, table);
    const campaignStep = rateSpec('c', 'campaign', 20).spacingMs;
    const within = slotsWithinHorizon(campaignStep);
    const each = within + 2;
    const segs = [
      ...Array.from({ length: each }, (_, i) => seg('+15125550101', i, 'local')),
      ...Array.from({ length: each }, (_, i) => seg('+15125550102', i, 'local')),
    ];
    const t0 = clock.now;
    const v = await pipeline.run(segs);
    expect(stale).toEqual([]);
    // The campaign's slots (one every 50.75 ms) from the lead to the horizon, all taken by the
    // first number; the second waits for the campaign, not for its own number.
    const slots = v.flatMap((x) => (x.decision.kind === 'allow' ? [(x.decision as { at: number }).at] : []));
    expect(slots).toHaveLength(within);
    expect(v.slice(0, within).every((x) => x.decision.kind === 'allow')).toBe(true);
    expect(slots[0]).toBe(t0 + LEAD_MS);
    for (let i = 1; i < slots.length; i++) expect(slots[i]! - slots[i - 1]!).toBeCloseTo(campaignStep, 6);
    expect(deferred.every(([k]) => k === 'campaign')).toBe(true);
    expect(deferred.reduce((n, [, k]) => n + k, 0)).toBe(2 * each - within);
    const own = await limiter.reserve([rateSpec('n:+15125550102', 'number', 100)], 1000, {
      leadMs: 0,
      horizonMs: 250,
    });
    expect(own.granted).toBeGreaterThanOrEqual(24);
    // Its first slot is now (no lead asked): the campaign did not move it.
    expect(own.firstAt).toBe(t0);
    await limiter.close();
  });

  it('hands its slot to the dispatcher through the pipeline; a defer of another policy wins', async () => {
    const store = new FakeStore([{ e164: '+18005550100', type: 'toll_free' }]);
    const policy = () =>
      rateLimitPolicy({
        store,
        limiter: new SlotRateLimiter(undefined, `unit:${Math.random()}:`),
        tableFor: () => DEFAULT_LIMIT_TABLE,
        carrierOf: () => 'sim',
      });
    const [alone] = await new Pipeline<ClaimedSegment>([policy()]).run([seg('+18005550100', 1)]);
    expect(alone!.decision).toMatchObject({ kind: 'allow', at: expect.any(Number), by: expect.any(Number) });
    const later = new Date(Date.now() + 60_000);
    const [withDefer] = await new Pipeline<ClaimedSegment>([
      policy(),
      { name: 'quiet', decide: (): Decision => ({ kind: 'defer', until: later, reason: 'quiet_hours' }) },
    ]).run([seg('+18005550100', 2)]);
    expect(withDefer!.decision).toEqual({ kind: 'defer', until: later, reason: 'quiet_hours' });
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

  // Found in review (issue 8): the queue after the daily reset shared the number's queue of
  // today, so once a brand's count was given back (an unused slot), the number's next held
  // segments were sent to wait behind the reset, until after midnight.
  it("keeps the number's queue of today apart from its queue after the daily reset", async () => {
    // The first batch fills the horizon, two of it past the cap; the next finds no slot left.
    const within = slotsWithinHorizon(rateSpec('k', 'number', 20).spacingMs);
    const table = mergeLimits(DEFAULT_LIMIT_TABLE, {
      brandPerDay: { A: within - 2 },
      numberPerSecond: { local: 20 },
    });
    const { pipeline, limiter, store, clock } = setup(
      [{ e164: '+15125550104', type: 'local', campaignId: 'c4', throughputClass: 'A', brandId: 'b4' }],
      table,
    );
    const first = await pipeline.run(
      Array.from({ length: within }, (_, i) => seg('+15125550104', i, 'local')),
    );
    const midnight = (
      first.find((x) => x.decision.kind === 'defer' && x.decision.reason === 'daily_cap_reached')!
        .decision as { until: Date }
    ).until.getTime();
    // Today's count given back (slots that were never written).
    await store.returnDaily(pacificDay(new Date(clock.now)), [{ brandId: 'b4', want: within - 2 }]);
    const next = await pipeline.run(
      Array.from({ length: 14 }, (_, i) => seg('+15125550104', 100 + i, 'local')),
    );
    const today = next.filter((x) => x.decision.kind === 'defer' && x.decision.reason === 'rate_limited');
    expect(today.length).toBeGreaterThan(0);
    for (const x of today) expect((x.decision as { until: Date }).until.getTime()).toBeLessThan(midnight);
    await limiter.close();
  });

  it('takes the daily caps of a batch in one statement, each brand once, its grant going to its senders in batch order', async () => {
    const table = mergeLimits(DEFAULT_LIMIT_TABLE, { brandPerDay: { A: 5 } });
    const profiles: SenderProfile[] = ['+15125550111', '+15125550112'].map((e164) => ({
      e164,
      type: 'local',
      campaignId: 'c3',
      throughputClass: 'A',
      brandId: 'b3',
    }));
    const { pipeline, limiter, store } = setup(
      [
        ...profiles,
        { e164: '+15125550113', type: 'local', campaignId: 'c4', throughputClass: 'A', brandId: 'b4' },
      ],
      table,
    );
    const v = await pipeline.run([
      ...Array.from({ length: 4 }, (_, i) => seg('+15125550111', i, 'local')),
      ...Array.from({ length: 4 }, (_, i) => seg('+15125550112', i, 'local')),
      ...Array.from({ length: 2 }, (_, i) => seg('+15125550113', i, 'local')),
    ]);
    expect(store.takes).toBe(1);
    expect(v.map((x) => x.decision.kind)).toEqual([
      ...Array(4).fill('allow'),
      'allow',
      ...Array(3).fill('defer'),
      'allow',
      'allow',
    ]);
    for (const x of v.slice(5, 8)) expect(x.decision).toMatchObject({ reason: 'daily_cap_reached' });
    expect([...store.daily].find(([k]) => k.startsWith('b3/'))?.[1]).toBe(5);
    await limiter.close();
  });

  it('limits nothing it cannot route (the carrier policy defers those) and numbers it does not know by their type', async () => {
    const { pipeline, limiter } = setup([]);
    const within = slotsWithinHorizon(rateSpec('k', 'number', 3).spacingMs);
    const v = await pipeline.run([
      ...Array.from({ length: within + 3 }, (_, i) => seg('+18005550199', i)),
      { ...seg('+18005550199', 99), to: '+447700900000' },
    ]);
    expect(v.map((x) => x.decision.kind)).toEqual([
      ...Array<string>(within).fill('allow'),
      'defer',
      'defer',
      'defer',
      'allow',
    ]);
    await limiter.close();
  });

  // Found in review (issue 8): a refused write of the senders' backlogs (advisory, for the queue
  // cap at accept) rejected the whole decision, deferring a batch whose slots were reserved.
  it("decides the batch when the senders' backlog cannot be written, and writes it again on its next move", async () => {
    const { limiter, store } = setup([{ e164: '+18005550100', type: 'toll_free' }]);
    const writes: number[] = [];
    const failures: unknown[] = [];
    let refuse = true;
    store.setBacklog = async (entries) => {
      writes.push(entries.length);
      if (refuse) throw new Error('connection terminated');
    };
    const policy = rateLimitPolicy({
      store,
      limiter,
      tableFor: () => DEFAULT_LIMIT_TABLE,
      carrierOf: () => 'sim',
      onBacklogWriteFailed: (e) => failures.push(e),
    });
    const segs = (n: number, k: number) =>
      Array.from({ length: n }, (_, i) => seg('+18005550100', k * 100 + i));
    const first = await policy.load!(segs(30, 1));
    expect([...first.values()].filter((d) => d.kind === 'defer').length).toBeGreaterThan(25);
    expect(failures).toHaveLength(1);
    expect(writes).toEqual([1]);
    // Moved by less than a second: written again all the same, since the last write failed.
    refuse = false;
    await policy.load!(segs(1, 2));
    expect(writes).toEqual([1, 1]);
    // Written now: a move of less than a second is not written again.
    await policy.load!(segs(1, 3));
    expect(writes).toEqual([1, 1]);
    await limiter.close();
  });

  it('fails the batch when the limiter cannot answer (never sends unlimited)', async () => {
    const store = new FakeStore([{ e164: '+18005550100', type: 'toll_free' }]);
    const pipeline = new Pipeline<ClaimedSegment>([
      rateLimitPolicy({
        store,
        limiter: {
          size: 0,
          reserve: () => Promise.reject(new Error('redis away')),
          wroteLate: async () => undefined,
          close: async () => undefined,
        },
        tableFor: () => DEFAULT_LIMIT_TABLE,
        carrierOf: () => 'sim',
      }),
    ]);
    await expect(pipeline.run([seg('+18005550100', 1)])).rejects.toThrow('redis away');
  });
});

describe('daily cap of unused slots', () => {
  it('a granted slot carries its brand and day; given back, the brand can use it again', async () => {
    const table = mergeLimits(DEFAULT_LIMIT_TABLE, { brandPerDay: { A: 2 } });
    const { pipeline, limiter, store, clock } = setup(
      [{ e164: '+15125550120', type: 'local', campaignId: 'c9', throughputClass: 'A', brandId: 'b9' }],
      table,
    );
    const v = await pipeline.run([0, 1, 2].map((i) => seg('+15125550120', i, 'local')));
    expect(v.map((x) => x.decision.kind)).toEqual(['allow', 'allow', 'defer']);
    const tickets = v
      .filter((x) => x.decision.kind === 'allow')
      .map((x) => (x.decision as { ticket: unknown }).ticket);
    const byDay = unusedDailyOf(tickets as never);
    expect([...byDay]).toEqual([[pacificDay(new Date(clock.now)), [{ brandId: 'b9', want: 2 }]]]);
    // One of the two is withdrawn before it is written: the brand gets it back.
    await returnUnusedDaily(store, tickets.slice(0, 1) as never);
    clock.now += 60_000;
    const again = await pipeline.run([seg('+15125550120', 3, 'local'), seg('+15125550120', 4, 'local')]);
    expect(again.map((x) => x.decision.kind)).toEqual(['allow', 'defer']);
    await limiter.close();
  });

  it('gives back in one statement per day for what a quarter second collects, and what is pending at stop', async () => {
    const store = new FakeStore([]);
    const failed: unknown[] = [];
    const returns = new DailyReturns(store, (e) => failed.push(e), 50);
    const t = (brandId: string, day = '2026-12-04') => ({ daily: { brandId, day } });
    returns.add([t('b1'), t('b2'), undefined, { marks: {}, index: 1 }]);
    returns.add([t('b1'), t('b3', '2026-12-03')]);
    await waitFor(() => store.returned.length === 2, 2_000, 'one give-back per day');
    expect(store.returned).toEqual([
      [
        '2026-12-04',
        [
          { brandId: 'b1', want: 2 },
          { brandId: 'b2', want: 1 },
        ],
      ],
      ['2026-12-03', [{ brandId: 'b3', want: 1 }]],
    ]);
    // Tickets without a daily cap start no timer and no statement.
    returns.add([undefined, { marks: {}, index: 0 }]);
    returns.add([t('b4')]);
    await returns.flush();
    expect(store.returned).toHaveLength(3);
    store.returnDaily = () => Promise.reject(new Error('db away'));
    returns.add([t('b5')]);
    await returns.flush();
    expect(failed).toHaveLength(1);
  });

  it('skips tickets that are not its own or carry no daily cap, and never throws when the store fails', async () => {
    const hostile = [
      undefined,
      {},
      { daily: null },
      { daily: { brandId: 7, day: '2026-12-04' } },
      { marks: {}, index: 0 },
      { daily: { brandId: 'b1', day: '2026-12-04' } },
      { daily: { brandId: 'b1', day: '2026-12-04' } },
      { daily: { brandId: 'b2', day: '2026-12-03' } },
    ];
    expect([...unusedDailyOf(hostile as never)]).toEqual([
      ['2026-12-04', [{ brandId: 'b1', want: 2 }]],
      ['2026-12-03', [{ brandId: 'b2', want: 1 }]],
    ]);
    const failed: unknown[] = [];
    const store = new FakeStore([]);
    store.returnDaily = () => Promise.reject(new Error('db away'));
    await expect(returnUnusedDaily(store, hostile as never, (e) => failed.push(e))).resolves.toBeUndefined();
    expect(failed).toHaveLength(2);
  });
});

describe('stale slots (regression: bench:limits saw single numbers twice within one interval)', () => {
  it('a slot passed while another group of the batch was decided is not used: its segment asks again', async () => {
    // One group's daily-cap round trip takes a second (the clock is moved by the fake store): the
    // slots taken at the start would reach the carrier a second late, crowding the slots after.
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
    const limiter = new SlotRateLimiter(undefined, `unit:${Math.random()}:`, 1_000, () => clock);
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
      ['defer', 'rate_limited'],
    ]);
    expect(v.every((x) => x.decision.kind === 'defer' && x.decision.until.getTime() === clock)).toBe(true);
    expect(stale).toEqual([2]);
    // The stale slot had been counted against its brand's daily cap: given back (regression:
    // bench:limits counted 400 of a 400 cap while 363–368 were submitted).
    await waitFor(() => store.returned.length === 1, 2_000, 'the daily cap given back');
    expect(store.returned[0]![1]).toEqual([{ brandId: 'slow', want: 1 }]);
    expect([...store.daily.values()]).toEqual([0]);
    await limiter.close();
  });
});
