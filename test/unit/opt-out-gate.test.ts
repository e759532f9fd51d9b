import { describe, expect, it } from 'vitest';
import { OptOutGate } from '../../src/compliance/gate.ts';
import {
  ComplianceContext,
  type ComplianceSources,
  optOutAcceptPolicy,
  optOutDispatchPolicy,
  quietHoursAcceptPolicy,
  quietHoursDispatchPolicy,
  recipientZones,
} from '../../src/compliance/policies.ts';
import { DEFAULT_COMPLIANCE, helpText, withDefaults } from '../../src/compliance/settings.ts';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';
import { outcomeFor } from '../../src/messaging/outcome.ts';
import { claimedSegment } from '../helpers/core-fixtures.ts';

describe('opt-out gate', () => {
  it('blocks every number of the account to the contact, lets exempt replies and others through, expires', () => {
    const g = new OptOutGate(1_000, 10);
    expect(g.allows('m1', '+1555', '+1415')).toBe(true);
    g.block(['+1555', '+1556'], '+1415', ['reply'], 0);
    expect(g.allows('m1', '+1555', '+1415', 10)).toBe(false);
    expect(g.allows('m1', '+1556', '+1415', 10)).toBe(false);
    expect(g.allows('reply', '+1556', '+1415', 10)).toBe(true);
    expect(g.allows('m1', '+1557', '+1415', 10)).toBe(true);
    expect(g.allows('m1', '+1555', '+1416', 10)).toBe(true);
    expect(g.allows('m1', '+1555', '+1415', 1_000)).toBe(true);
    expect(g.size).toBe(1);
    g.block(['+1555'], '+1415', [], 0);
    g.unblock(['+1555'], '+1415');
    expect(g.allows('m1', '+1555', '+1415', 1)).toBe(true);
  });

  it('stays bounded', () => {
    const g = new OptOutGate(1_000, 100);
    for (let i = 0; i < 1_000; i++) g.block([`+1${i}`], '+1415', [`r${i}`], 0);
    expect(g.size).toBe(100);
  });
});

describe('opt-out and quiet-hours policies', () => {
  const settings = new Map([['a1', DEFAULT_COMPLIANCE]]);
  const ctx = (over: Partial<ComplianceSources> = {}) =>
    new ComplianceContext({
      contacts: async () => new Map([['a1 +14155550100', { dnd: true, timeZone: null }]]),
      segments: async () => new Map(),
      settings: async () => settings,
      zones: async (ns) => new Map([...ns].map((n) => [n, ['America/New_York']])),
      now: () => new Date('2026-06-10T16:00:00Z'),
      recentCounts: async () => new Map(),
      claimFirst: async () => new Set<string>(),
      ...over,
    });
  const cand = (over: Partial<AcceptCandidate> = {}) =>
    ({
      accountId: 'a1',
      to: '+14155550100',
      now: new Date('2026-06-10T16:00:00Z'),
      ...over,
    }) as AcceptCandidate;

  it('refuse at accept (422) and fail at dispatch (contact_opted_out), per account; replies pass', async () => {
    const c = ctx();
    const p = optOutAcceptPolicy(c);
    const batch = [cand(), cand({ accountId: 'a2' })];
    const l = await p.load!(batch);
    expect(p.decide(batch[0]!, l)).toMatchObject({
      kind: 'reject',
      code: 'CONTACT_OPTED_OUT',
      reason: 'contact_opted_out',
    });
    expect(p.decide(batch[1]!, l)).toEqual({ kind: 'allow' });
    const seg = claimedSegment();
    const reply = claimedSegment({ messageId: 'reply' });
    const d = optOutDispatchPolicy(
      ctx({
        segments: async () =>
          new Map([
            [seg.messageId, { accountId: 'a1', contact: { dnd: true, timeZone: null }, exempt: false }],
            ['reply', { accountId: 'a1', contact: { dnd: true, timeZone: null }, exempt: true }],
          ]),
      }),
    );
    const segs = [seg, reply, claimedSegment({ messageId: 'other' })];
    const loaded = await d.load!(segs);
    expect(d.decide(seg, loaded)).toMatchObject({
      kind: 'reject',
      status: 'failed',
      reason: 'contact_opted_out',
    });
    expect(d.decide(reply, loaded)).toEqual({ kind: 'allow' });
    expect(d.decide(segs[2]!, loaded)).toEqual({ kind: 'allow' });
  });

  it('quiet hours schedule (or reject) at accept and defer at dispatch, in the zone that applies', async () => {
    const night = new Date('2026-06-11T03:00:00Z'); // 23:00 in New York
    const c = ctx({ contacts: async () => new Map(), now: () => night });
    const p = quietHoursAcceptPolicy(c);
    const batch = [
      cand({ now: night }),
      cand({ now: night, quietHours: 'reject' }),
      cand({ now: new Date('2026-06-10T16:00:00Z') }),
    ];
    const l = await p.load!(batch);
    expect(p.decide(batch[0]!, l)).toEqual({
      kind: 'defer',
      until: new Date('2026-06-11T12:00:00Z'),
      reason: 'quiet_hours',
    });
    expect(p.decide(batch[1]!, l)).toMatchObject({ kind: 'reject', code: 'QUIET_HOURS' });
    expect(p.decide(batch[2]!, l)).toEqual({ kind: 'allow' });
    // The contact's own zone wins over the number's.
    const tokyo = ctx({
      contacts: async () => new Map([['a1 +14155550100', { dnd: false, timeZone: 'Asia/Tokyo' }]]),
      now: () => night,
    });
    const lt = await quietHoursAcceptPolicy(tokyo).load!([batch[0]!]);
    expect(quietHoursAcceptPolicy(tokyo).decide(batch[0]!, lt)).toEqual({ kind: 'allow' }); // 12:00 in Tokyo
    // Off for the account: allowed.
    const off = ctx({
      contacts: async () => new Map(),
      settings: async () =>
        new Map([
          ['a1', { ...DEFAULT_COMPLIANCE, quietHours: { ...DEFAULT_COMPLIANCE.quietHours, enabled: false } }],
        ]),
    });
    const lo = await quietHoursAcceptPolicy(off).load!([batch[0]!]);
    expect(quietHoursAcceptPolicy(off).decide(batch[0]!, lo)).toEqual({ kind: 'allow' });
    // Dispatch: deferred, replies exempt; no zone from the number: the account's zone.
    const seg = claimedSegment();
    const reply = claimedSegment({ messageId: 'reply' });
    const d = quietHoursDispatchPolicy(
      ctx({
        now: () => night,
        zones: async (ns) => new Map([...ns].map((n) => [n, []])),
        segments: async () =>
          new Map([
            [seg.messageId, { accountId: 'a1', contact: undefined, exempt: false }],
            ['reply', { accountId: 'a1', contact: undefined, exempt: true }],
          ]),
      }),
    );
    const ld = await d.load!([seg, reply]);
    expect(d.decide(seg, ld)).toEqual({
      kind: 'defer',
      until: new Date('2026-06-11T12:00:00Z'),
      reason: 'quiet_hours',
    });
    expect(d.decide(reply, ld)).toEqual({ kind: 'allow' });
    expect(recipientZones(undefined, [], DEFAULT_COMPLIANCE)).toEqual(['America/New_York']);
  });

  it('a withdrawn submit goes back to the queue without counting an attempt', () => {
    const seg = claimedSegment();
    const o = outcomeFor(
      seg,
      'c',
      { kind: 'retryable', code: 'WITHDRAWN', reason: 'x', attempts: 0, possiblySubmitted: false },
      { initialMs: 500, maxMs: 60_000, multiplier: 2 },
    );
    expect(o).toMatchObject({
      status: 'queued',
      reason: 'withdrawn',
      deferred: true,
      possibleDuplicate: false,
    });
  });
});

describe('compliance settings', () => {
  it('fill defaults under stored values and name the business in HELP', () => {
    const s = withDefaults({ businessName: 'Acme', keywords: { optOut: ['STOP'] } as never });
    expect(s.keywords.optIn).toContain('START');
    expect(s.keywords.optOut).toEqual(['STOP']);
    expect(helpText(s)).toMatch(/^Acme: /);
    expect(helpText(withDefaults(undefined))).toMatch(/^This number: /);
  });
});
