import { describe, expect, it } from 'vitest';
import {
  campaignClass,
  DEFAULT_LIMIT_TABLE,
  limitsFor,
  mergeLimits,
  nextPacificMidnight,
  pacificDay,
  rateSpec,
} from '../../src/limits/policy-table.ts';

describe('the limit policy table', () => {
  it('keeps whole segments per interval and the exact long-run rate', () => {
    const perSecond = (s: { amount: number; intervalMs: number }) => (s.amount * 1000) / s.intervalMs;
    expect(rateSpec('k', 'number', 3)).toMatchObject({ key: 'k', kind: 'number', amount: 1 });
    expect(rateSpec('k', 'number', 3).intervalMs).toBeCloseTo(333.333, 2);
    expect(rateSpec('k', 'number', 100)).toMatchObject({ amount: 25, intervalMs: 250 });
    // 75 a minute: one every 800 ms; 15 a minute: one every 4 s; 4,500 a minute: 18 every 240 ms.
    expect(rateSpec('k', 'campaign', 75 / 60)).toMatchObject({ amount: 1, intervalMs: 800 });
    expect(rateSpec('k', 'campaign', 15 / 60)).toMatchObject({ amount: 1, intervalMs: 4000 });
    expect(rateSpec('k', 'campaign', 4500 / 60)).toMatchObject({ amount: 18, intervalMs: 240 });
    for (const r of [0.25, 1.25, 3, 4, 40, 75, 100, 3333.3])
      expect(perSecond(rateSpec('k', 'number', r))).toBeCloseTo(r, 6);
    expect(() => rateSpec('k', 'number', 0)).toThrow(RangeError);
    expect(() => rateSpec('k', 'number', Number.POSITIVE_INFINITY)).toThrow(RangeError);
    expect(() => rateSpec('k', 'number', Number.NaN)).toThrow(RangeError);
  });

  it('layers number, campaign-per-carrier and brand-per-day limits', () => {
    const local = limitsFor(
      { e164: '+15125550100', type: 'local', campaignId: 'c1', throughputClass: 'C', brandId: 'b1' },
      'att',
      DEFAULT_LIMIT_TABLE,
    );
    expect(local.rates.map((r) => [r.key, r.amount, r.intervalMs])).toEqual([
      ['n:+15125550100', 25, 250],
      ['c:c1:att', 10, 250],
    ]);
    expect(local.daily).toEqual({ brandId: 'b1', cap: 40_000 });
    const tf = limitsFor({ e164: '+18005550100', type: 'toll_free' }, 'att', DEFAULT_LIMIT_TABLE);
    expect(tf.rates.map((r) => Math.round((r.amount * 1000) / r.intervalMs))).toEqual([3]);
    expect(tf.daily).toBeUndefined();
    const sc = limitsFor({ e164: '12345', type: 'short_code' }, 'x', DEFAULT_LIMIT_TABLE);
    expect(sc.rates[0]).toMatchObject({ amount: 25, intervalMs: 250 });
    // The operator's per-number rate wins over the table's.
    const over = limitsFor(
      { e164: '+18005550100', type: 'toll_free', perSecondOverride: 25 },
      'x',
      DEFAULT_LIMIT_TABLE,
    );
    expect(over.rates[0]).toMatchObject({ amount: 6, intervalMs: 240 });
  });

  it('applies overrides in order, leaving the defaults untouched', () => {
    const t = mergeLimits(
      DEFAULT_LIMIT_TABLE,
      { numberPerSecond: { toll_free: 10 } },
      { brandPerDay: { A: 5 } },
    );
    expect(t.numberPerSecond.toll_free).toBe(10);
    expect(t.numberPerSecond.local).toBe(100);
    expect(t.brandPerDay.A).toBe(5);
    expect(DEFAULT_LIMIT_TABLE.numberPerSecond.toll_free).toBe(3);
    expect(DEFAULT_LIMIT_TABLE.brandPerDay.A).toBe(200_000);
  });

  it('counts days and resets at midnight US Pacific, daylight saving included', () => {
    // 07:59 UTC on 2026-03-08 is 23:59 PST on the 7th; 08:00 UTC is midnight (DST starts at 02:00).
    expect(pacificDay(new Date('2026-03-08T07:59:00Z'))).toBe('2026-03-07');
    expect(pacificDay(new Date('2026-03-08T08:00:00Z'))).toBe('2026-03-08');
    expect(nextPacificMidnight(new Date('2026-03-08T07:59:00Z')).toISOString()).toBe(
      '2026-03-08T08:00:00.000Z',
    );
    // After the change, midnight is 07:00 UTC (PDT).
    expect(nextPacificMidnight(new Date('2026-03-08T12:00:00Z')).toISOString()).toBe(
      '2026-03-09T07:00:00.000Z',
    );
    expect(nextPacificMidnight(new Date('2026-11-01T12:00:00Z')).toISOString()).toBe(
      '2026-11-02T08:00:00.000Z',
    );
  });

  it('takes the class from the use case where it has its own, else from the brand', () => {
    expect(campaignClass('LOW_VOLUME', 'A')).toBe('LOW_VOLUME');
    expect(campaignClass('SOLE_PROPRIETOR', 'SOLE_PROPRIETOR')).toBe('SOLE_PROPRIETOR');
    expect(campaignClass('MARKETING', 'C')).toBe('C');
    expect(campaignClass('MARKETING', null)).toBeUndefined();
    expect(campaignClass('MARKETING', 'Z')).toBeUndefined();
  });
});
