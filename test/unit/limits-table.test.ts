import { describe, expect, it } from 'vitest';
import {
  campaignClass,
  DEFAULT_LIMIT_TABLE,
  limitsFor,
  mergeLimits,
  nextPacificMidnight,
  PACING_MARGIN_MS,
  pacificDay,
  rateSpec,
} from '../../src/limits/policy-table.ts';

describe('the limit policy table', () => {
  it('spaces slots at the rate, wider where a second could hold more than the rate rounded up', () => {
    const perSecond = (s: { spacingMs: number }) => 1000 / s.spacingMs;
    // Integer rates: a second's slots span a second and the margin (the rate, a margin under).
    expect(rateSpec('k', 'number', 3)).toMatchObject({ key: 'k', kind: 'number', perSecond: 3 });
    expect(rateSpec('k', 'number', 3).spacingMs).toBeCloseTo((1000 + PACING_MARGIN_MS) / 3, 6);
    expect(rateSpec('k', 'number', 100).spacingMs).toBeCloseTo((1000 + PACING_MARGIN_MS) / 100, 6);
    // Fractional rates keep their own pace: 75 a minute is one every 800 ms (two in any second
    // at most, the rate rounded up); 15 a minute one every 4 s.
    expect(rateSpec('k', 'campaign', 75 / 60).spacingMs).toBeCloseTo(800, 6);
    expect(rateSpec('k', 'campaign', 15 / 60).spacingMs).toBeCloseTo(4000, 6);
    for (const r of [0.25, 1.25, 3, 4, 40, 74.9, 75, 100, 3333.3]) {
      const s = rateSpec('k', 'number', r);
      expect(perSecond(s)).toBeLessThanOrEqual(r + 1e-9);
      expect(perSecond(s)).toBeGreaterThanOrEqual(r * (1 - PACING_MARGIN_MS / 1000) - 1e-9);
      // ceil(rate) + 1 slots never fit in a second and the margin; a late submit within lateMs
      // of its slot leaves the next ceil(rate) of them outside its second.
      const allowance = Math.max(1, Math.ceil(r));
      expect(allowance * s.spacingMs).toBeGreaterThanOrEqual(1000 + PACING_MARGIN_MS - 1e-6);
      expect(s.lateMs).toBeGreaterThan(0);
      expect(s.lateMs).toBeLessThanOrEqual(500);
    }
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
    expect(local.rates.map((r) => [r.key, r.kind, r.perSecond])).toEqual([
      ['n:+15125550100', 'number', 100],
      ['c:c1:att', 'campaign', 40],
    ]);
    expect(local.daily).toEqual({ brandId: 'b1', cap: 40_000 });
    const tf = limitsFor({ e164: '+18005550100', type: 'toll_free' }, 'att', DEFAULT_LIMIT_TABLE);
    expect(tf.rates.map((r) => r.perSecond)).toEqual([3]);
    expect(tf.daily).toBeUndefined();
    const sc = limitsFor({ e164: '12345', type: 'short_code' }, 'x', DEFAULT_LIMIT_TABLE);
    expect(sc.rates[0]).toMatchObject({ perSecond: 100 });
    // The operator's per-number rate wins over the table's.
    const over = limitsFor(
      { e164: '+18005550100', type: 'toll_free', perSecondOverride: 25 },
      'x',
      DEFAULT_LIMIT_TABLE,
    );
    expect(over.rates[0]).toMatchObject({ perSecond: 25 });
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
    // The use case decides, not the brand's class (a vetted brand's sole-proprietor campaign).
    expect(campaignClass('SOLE_PROPRIETOR', 'A')).toBe('SOLE_PROPRIETOR');
    expect(campaignClass('SOLE_PROPRIETOR', undefined)).toBe('SOLE_PROPRIETOR');
    expect(campaignClass('', 'B')).toBe('B');
    expect(campaignClass('MARKETING', 'C')).toBe('C');
    expect(campaignClass('MARKETING', null)).toBeUndefined();
    expect(campaignClass('MARKETING', 'Z')).toBeUndefined();
    expect(campaignClass('MARKETING', undefined)).toBeUndefined();
  });

  it('adds a campaign limit only for a campaign with a class, a daily cap only for one with a brand', () => {
    const table = DEFAULT_LIMIT_TABLE;
    const kinds = (p: Parameters<typeof limitsFor>[0]) => limitsFor(p, 'att', table).rates.map((r) => r.kind);
    const base = { e164: '+15125550100', type: 'local' as const };
    expect(kinds({ ...base, campaignId: 'c1' })).toEqual(['number']);
    expect(kinds({ ...base, throughputClass: 'C' })).toEqual(['number']);
    expect(kinds({ ...base, throughputClass: 'C', brandId: 'b1' })).toEqual(['number']);
    expect(limitsFor({ ...base, throughputClass: 'C', brandId: 'b1' }, 'att', table).daily).toBeUndefined();
    const noBrand = limitsFor({ ...base, campaignId: 'c1', throughputClass: 'C' }, 'att', table);
    expect(noBrand.rates.map((r) => r.kind)).toEqual(['number', 'campaign']);
    expect(noBrand.daily).toBeUndefined();
  });

  it('names the limit a bad rate belongs to, and skips absent overrides', () => {
    expect(() => rateSpec('n:+15125550100', 'number', -1)).toThrow('rate of n:+15125550100 must be positive');
    const t = mergeLimits(DEFAULT_LIMIT_TABLE, undefined, { numberPerSecond: { mobile: 2 } }, undefined);
    expect(t.numberPerSecond).toEqual({ ...DEFAULT_LIMIT_TABLE.numberPerSecond, mobile: 2 });
    expect(t.campaignPerMinute).toEqual(DEFAULT_LIMIT_TABLE.campaignPerMinute);
  });
});
