import { describe, expect, it } from 'vitest';
import { ComplianceContext, quietHoursAcceptPolicy } from '../../src/compliance/policies.ts';
import { DEFAULT_WINDOW, nextAllowedBy } from '../../src/compliance/quiet-hours.ts';
import { DEFAULT_COMPLIANCE } from '../../src/compliance/settings.ts';
import { STATE_RULES, strictest, weekFor } from '../../src/compliance/state-rules.ts';
import { zonesOfNumbers } from '../../src/compliance/time-zones.ts';
import { regionOfNanp } from '../../src/compliance/us-states.ts';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';

const at = (iso: string) => new Date(iso);

describe('state rules', () => {
  it('name the state of NANP area codes from the geocoding data', () => {
    expect(regionOfNanp('+13055550100')).toBe('Florida');
    expect(regionOfNanp('+12065550100')).toBe('Washington State');
    expect(regionOfNanp('+12145550100')).toBe('Texas');
    expect(regionOfNanp('+12055550100')).toBe('Alabama');
    expect(regionOfNanp('+14155550100')).toBe('California');
    expect(regionOfNanp('+33612345678')).toBeUndefined();
    expect(regionOfNanp('+1305')).toBeUndefined();
    for (const state of STATE_RULES.keys())
      expect([...STATE_RULES.values()].find((r) => r.state === state)!.source.length).toBeGreaterThan(5);
  });

  it('narrow the account window: the strictest wins, per weekday', () => {
    expect(strictest(DEFAULT_WINDOW, { start: '09:00', end: '20:00' })).toEqual({
      start: '09:00',
      end: '20:00',
    });
    expect(strictest({ start: '10:00', end: '18:00' }, { start: '08:00', end: '20:00' })).toEqual({
      start: '10:00',
      end: '18:00',
    });
    expect(strictest({ start: '08:00', end: '09:00' }, { start: '10:00', end: '20:00' })).toBeNull();
    expect(strictest(DEFAULT_WINDOW, null)).toBeNull();
    const tx = weekFor(DEFAULT_WINDOW, STATE_RULES.get('Texas'));
    expect(tx[1]).toEqual({ start: '09:00', end: '21:00' });
    expect(tx[7]).toEqual({ start: '12:00', end: '21:00' });
    expect(weekFor(DEFAULT_WINDOW, STATE_RULES.get('Alabama'))[7]).toBeNull();
    expect(weekFor(DEFAULT_WINDOW, undefined)[7]).toEqual(DEFAULT_WINDOW);
  });

  it('hold Florida at 20:30, Texas until noon on Sunday, Alabama over Sunday', () => {
    const fl = weekFor(DEFAULT_WINDOW, STATE_RULES.get('Florida'));
    // Wednesday 2026-06-10 20:30 EDT = 00:30Z next day: Florida closes at 20:00 → Thursday 08:00 EDT.
    expect(nextAllowedBy(['America/New_York'], (d) => fl[d], at('2026-06-11T00:30:00Z'))).toEqual(
      at('2026-06-11T12:00:00Z'),
    );
    const tx = weekFor(DEFAULT_WINDOW, STATE_RULES.get('Texas'));
    // Sunday 2026-06-14 10:00 CDT = 15:00Z → noon CDT = 17:00Z.
    expect(nextAllowedBy(['America/Chicago'], (d) => tx[d], at('2026-06-14T15:00:00Z'))).toEqual(
      at('2026-06-14T17:00:00Z'),
    );
    // Saturday 10:00 CDT is fine.
    expect(nextAllowedBy(['America/Chicago'], (d) => tx[d], at('2026-06-13T15:00:00Z'))).toBeUndefined();
    const al = weekFor(DEFAULT_WINDOW, STATE_RULES.get('Alabama'));
    // Saturday 2026-06-13 20:30 CDT → Monday 08:00 CDT (no Sundays).
    expect(nextAllowedBy(['America/Chicago'], (d) => al[d], at('2026-06-14T01:30:00Z'))).toEqual(
      at('2026-06-15T13:00:00Z'),
    );
    expect(nextAllowedBy(['America/Chicago'], () => null, at('2026-06-14T01:30:00Z'))).toBeUndefined();
  });

  it('apply only when the account turns the state mode on', async () => {
    const night = at('2026-06-11T00:30:00Z'); // 20:30 in Miami
    const ctx = (stateRules: boolean) =>
      new ComplianceContext({
        contacts: async () => new Map(),
        segments: async () => new Map(),
        settings: async () =>
          new Map([
            ['a', { ...DEFAULT_COMPLIANCE, quietHours: { ...DEFAULT_COMPLIANCE.quietHours, stateRules } }],
          ]),
        zones: zonesOfNumbers,
        recentCounts: async () => new Map(),
        claimFirst: async () => new Set(),
        now: () => night,
      });
    const c = { id: 'm', accountId: 'a', to: '+13055550100', body: 'x', now: night } as AcceptCandidate;
    for (const [on, want] of [
      [false, { kind: 'allow' }],
      [true, { kind: 'defer', until: at('2026-06-11T12:00:00Z'), reason: 'quiet_hours' }],
    ] as const) {
      const p = quietHoursAcceptPolicy(ctx(on));
      expect(p.decide(c, await p.load!([c]))).toEqual(want);
    }
  });
});
