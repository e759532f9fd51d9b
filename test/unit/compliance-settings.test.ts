import { describe, expect, it } from 'vitest';
import {
  ComplianceContext,
  footerAcceptPolicy,
  frequencyCapPolicy,
  namesBusiness,
} from '../../src/compliance/policies.ts';
import {
  type ComplianceSettings,
  configuredDefaults,
  DEFAULT_COMPLIANCE,
  withDefaults,
  withFooter,
} from '../../src/compliance/settings.ts';
import { SettingsCache } from '../../src/compliance/settings-cache.ts';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';

describe('settings cache', () => {
  it('loads what is missing or old, keeps the rest for ttl, forgets on invalidate, stays bounded', async () => {
    const loads: string[][] = [];
    const c = new SettingsCache(
      async (ids) => {
        loads.push([...ids]);
        return new Map(ids.map((id) => [id, { ...DEFAULT_COMPLIANCE, businessName: id }]));
      },
      1_000,
      3,
    );
    expect((await c.get(['a', 'b', 'a'], 0)).get('a')!.businessName).toBe('a');
    await c.get(['a', 'b'], 700); // before 3/4 of the ttl: no background refresh either
    expect(loads).toEqual([['a', 'b']]);
    await c.get(['a', 'c'], 1_000); // a is as old as the ttl: loaded again
    expect(loads[1]).toEqual(['a', 'c']);
    c.invalidate('c');
    await c.get(['c'], 1_001);
    expect(loads[2]).toEqual(['c']);
    await c.get(['d', 'e'], 1_002); // over the bound: the cache starts again
    await c.get(['a'], 1_003);
    expect(loads[4]).toEqual(['a']);
  });
});

describe('settings', () => {
  it('merge stored values over the defaults, nested ones too', () => {
    const s = withDefaults({
      quietHours: { enabled: false } as never,
      footer: { text: 'Txt STOP' } as never,
    });
    expect(s.quietHours).toEqual({ ...DEFAULT_COMPLIANCE.quietHours, enabled: false });
    expect(s.footer).toEqual({ enabled: true, text: 'Txt STOP' });
    const d = configuredDefaults({ quietHours: false, footer: false, timeZone: 'Europe/Paris' });
    expect(d.quietHours).toMatchObject({
      enabled: false,
      timeZone: 'Europe/Paris',
      start: '08:00',
      end: '21:00',
    });
    expect(d.footer.enabled).toBe(false);
    expect(withDefaults(undefined, d)).toBe(d);
    expect(withDefaults({ businessName: 'X' }, d).quietHours.timeZone).toBe('Europe/Paris');
    expect(withFooter('hi', 'Reply STOP')).toBe('hi\nReply STOP');
  });

  it('a first message names the business when its name appears, in any case', () => {
    const s = { ...DEFAULT_COMPLIANCE, businessName: ' Acme Diner ' };
    expect(namesBusiness('ACME DINER: your table', s)).toBe(true);
    expect(namesBusiness('your table', s)).toBe(false);
    expect(namesBusiness('anything', DEFAULT_COMPLIANCE)).toBe(false);
  });
});

describe('footer policy', () => {
  it('claims once per contact in a batch, only for enabled accounts, and warns without the business name', async () => {
    const claimed: Array<{ accountId: string; to: string; messageId: string }> = [];
    const settings = new Map<string, ComplianceSettings>([
      ['a', { ...DEFAULT_COMPLIANCE, businessName: 'Acme' }],
      ['off', { ...DEFAULT_COMPLIANCE, footer: { enabled: false, text: 'x' } }],
    ]);
    const ctx = new ComplianceContext({
      contacts: async () => new Map(),
      segments: async () => new Map(),
      settings: async () => settings,
      zones: async () => new Map(),
      recentCounts: async () => new Map(),
      claimFirst: async (cs) => {
        claimed.push(...cs);
        return new Set(cs.filter((c) => c.to !== '+2').map((c) => c.messageId));
      },
      now: () => new Date(0),
    });
    const p = footerAcceptPolicy(ctx);
    expect(p.late).toBe(true);
    expect(p.name).toBe('footer');
    const c = (id: string, accountId: string, to: string, body: string) =>
      ({ id, accountId, to, body }) as AcceptCandidate;
    const batch = [
      c('1', 'a', '+1', 'Acme: hi'),
      c('2', 'a', '+1', 'again'),
      c('3', 'a', '+2', 'taken'),
      c('4', 'off', '+1', 'no footer here'),
      c('5', 'a', '+3', 'no name'),
    ];
    const l = await p.load!(batch);
    expect(claimed.map((x) => x.messageId)).toEqual(['1', '3', '5']);
    // The claim upserted a contact for every key it was given (taken or not); the accept insert
    // skips those. An account without the footer claims nothing, so its contact is not known.
    expect(batch.map((x) => x.contactStored === true)).toEqual([true, true, true, false, true]);
    expect(p.decide(batch[0]!, l)).toEqual({
      kind: 'transform',
      body: `Acme: hi\n${DEFAULT_COMPLIANCE.footer.text}`,
    });
    expect(p.decide(batch[1]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[2]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[3]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[4]!, l)).toEqual({
      kind: 'transform',
      body: `no name\n${DEFAULT_COMPLIANCE.footer.text}`,
      warnings: ['business_name_missing'],
    });
  });
});

describe('footer policy and known contacts', () => {
  it('claims nothing for a recipient whose first message is taken; still claims for unknown, new and not-yet-sent', async () => {
    const claimed: string[] = [];
    const ctx = new ComplianceContext({
      contacts: async () => new Map(),
      segments: async () => new Map(),
      // Only the accounts asked for, and none for an account without settings.
      settings: async (ids) =>
        new Map(ids.filter((id) => id === 'a').map((id) => [id, DEFAULT_COMPLIANCE] as const)),
      zones: async () => new Map(),
      recentCounts: async () => new Map(),
      claimFirst: async (cs) => {
        claimed.push(...cs.map((x) => x.messageId));
        return new Set(cs.map((x) => x.messageId));
      },
      now: () => new Date(0),
    });
    const p = footerAcceptPolicy(ctx);
    const c = (id: string, to: string, contact: AcceptCandidate['contact']) =>
      ({ id, accountId: 'a', to, body: 'hi', contact }) as AcceptCandidate;
    const batch = [
      c('sent', '+1', { dnd: false, timeZone: null, firstSent: true }),
      c('not-yet', '+2', { dnd: false, timeZone: null, firstSent: false }),
      c('new', '+3', null),
      c('unread', '+4', undefined),
      c('unknown-flag', '+5', { dnd: false, timeZone: null }),
      { ...c('no-settings', '+6', null), accountId: 'b' },
    ];
    const l = await p.load!(batch);
    expect(claimed).toEqual(['not-yet', 'new', 'unread', 'unknown-flag']);
    // Claimed keys are stored now; the skipped known one is flagged by the accept path, not here.
    expect(batch.map((x) => x.contactStored === true)).toEqual([false, true, true, true, true, false]);
    expect(p.decide(batch[5]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[0]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[1]!, l)).toMatchObject({ kind: 'transform' });
  });
});

describe('frequency cap', () => {
  it('refuses beyond max per period, counting what is stored and what the batch let through', async () => {
    const settings = new Map<string, ComplianceSettings>([
      ['a', { ...DEFAULT_COMPLIANCE, frequencyCap: { enabled: true, max: 3, hours: 24 } }],
      ['off', DEFAULT_COMPLIANCE],
    ]);
    const asked: Array<{ accountId: string; to: string; sinceMs: number }> = [];
    const ctx = new ComplianceContext({
      contacts: async () => new Map(),
      segments: async () => new Map(),
      settings: async () => settings,
      zones: async () => new Map(),
      recentCounts: async (pairs) => {
        asked.push(...pairs);
        return new Map([['a +1', 2]]);
      },
      claimFirst: async () => new Set(),
      now: () => new Date(0),
    });
    const p = frequencyCapPolicy(ctx);
    const c = (accountId: string, to: string) => ({ id: to, accountId, to, body: 'x' }) as AcceptCandidate;
    const batch = [c('a', '+1'), c('a', '+1'), c('a', '+2'), c('off', '+1')];
    const l = await p.load!(batch);
    expect(asked).toEqual([
      { accountId: 'a', to: '+1', sinceMs: 86_400_000 },
      { accountId: 'a', to: '+2', sinceMs: 86_400_000 },
    ]);
    expect(p.decide(batch[0]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[1]!, l)).toMatchObject({
      kind: 'reject',
      code: 'FREQUENCY_CAP',
      reason: 'frequency_cap',
    });
    expect(p.decide(batch[2]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[3]!, l)).toEqual({ kind: 'allow' });
  });
});
