import { describe, expect, it } from 'vitest';
import { OptOutGate } from '../../src/compliance/gate.ts';
import { optOutAcceptPolicy, optOutDispatchPolicy } from '../../src/compliance/policies.ts';
import type { ComplianceStore } from '../../src/compliance/ports.ts';
import { helpText, withDefaults } from '../../src/compliance/settings.ts';
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

describe('opt-out policies', () => {
  it('refuse at accept (422) and fail at dispatch (contact_opted_out), per account', async () => {
    const p = optOutAcceptPolicy(async () => new Set(['a1 +1415']));
    const out = await p.load!([]);
    const c = { accountId: 'a1', to: '+1415' } as Parameters<typeof p.decide>[0];
    expect(p.decide(c, out)).toMatchObject({
      kind: 'reject',
      code: 'CONTACT_OPTED_OUT',
      reason: 'contact_opted_out',
    });
    expect(p.decide({ ...c, accountId: 'a2' }, out)).toEqual({ kind: 'allow' });
    expect(p.decide(c, new Set())).toEqual({ kind: 'allow' });
    const seg = claimedSegment();
    const store = { optedOutSegments: async () => new Set([seg.messageId]) } as unknown as ComplianceStore;
    const d = optOutDispatchPolicy(store);
    const loaded = await d.load!([seg]);
    expect(d.decide(seg, loaded)).toMatchObject({
      kind: 'reject',
      status: 'failed',
      reason: 'contact_opted_out',
    });
    expect(d.decide({ ...seg, messageId: 'other' }, loaded)).toEqual({ kind: 'allow' });
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
