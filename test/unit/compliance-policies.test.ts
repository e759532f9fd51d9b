// The compliance policies' own rules, each held on its own: what a batch loads (once, and only
// what it needs), which zone and which state's hours apply, and what each refusal says.
import { describe, expect, it } from 'vitest';
import {
  ComplianceContext,
  type ComplianceSources,
  footerAcceptPolicy,
  frequencyCapPolicy,
  optOutAcceptPolicy,
  optOutDispatchPolicy,
  quietHoursAcceptPolicy,
  quietHoursDispatchPolicy,
  recipientZones,
} from '../../src/compliance/policies.ts';
import { type ComplianceSettings, DEFAULT_COMPLIANCE } from '../../src/compliance/settings.ts';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';
import { claimedSegment } from '../helpers/core-fixtures.ts';

const NIGHT = new Date('2026-06-11T03:00:00Z'); // 23:00 in New York
const settingsOf = (over: Partial<ComplianceSettings> = {}) =>
  new Map([['a1', { ...DEFAULT_COMPLIANCE, ...over }]]);

/** Sources that record what they were asked. */
function sources(over: Partial<ComplianceSources> = {}) {
  const asked: Record<string, unknown[]> = {
    contacts: [],
    settings: [],
    zones: [],
    segments: [],
    recentCounts: [],
  };
  const src: ComplianceSources = {
    contacts: async (pairs) => {
      asked.contacts!.push(pairs);
      return new Map();
    },
    segments: async (segs) => {
      asked.segments!.push(segs);
      return new Map();
    },
    settings: async (ids) => {
      asked.settings!.push(ids);
      return settingsOf();
    },
    zones: async (ns) => {
      asked.zones!.push([...ns]);
      return new Map([...ns].map((n) => [n, ['America/New_York']]));
    },
    recentCounts: async (pairs) => {
      asked.recentCounts!.push(pairs);
      return new Map();
    },
    claimFirst: async () => new Set<string>(),
    now: () => NIGHT,
    ...over,
  };
  return { ctx: new ComplianceContext(src), asked };
}
const cand = (over: Partial<AcceptCandidate> = {}) =>
  ({ id: 'm1', accountId: 'a1', to: '+14155550100', body: 'hi', now: NIGHT, ...over }) as AcceptCandidate;

describe('the compliance context of a batch', () => {
  it('is loaded once for all the policies of a batch, asking for what the batch holds', async () => {
    const { ctx, asked } = sources();
    const batch = [cand(), cand({ id: 'm2', to: '+14155550101', contact: { dnd: false, timeZone: null } })];
    await optOutAcceptPolicy(ctx).load!(batch);
    await quietHoursAcceptPolicy(ctx).load!(batch);
    expect(asked.contacts).toEqual([[{ accountId: 'a1', to: '+14155550100' }]]);
    expect(asked.settings).toEqual([['a1', 'a1']]);
    expect(asked.zones).toEqual([['+14155550100', '+14155550101']]);
  });

  it('asks for no contact when the accept path read them all, and uses what it read', async () => {
    const { ctx, asked } = sources();
    const batch = [cand({ contact: { dnd: true, timeZone: null } })];
    const p = optOutAcceptPolicy(ctx);
    const l = await p.load!(batch);
    expect(asked.contacts).toEqual([]);
    expect(p.decide(batch[0]!, l)).toEqual({
      kind: 'reject',
      code: 'CONTACT_OPTED_OUT',
      message: 'the contact opted out; nothing may be sent to them until they opt in again (START)',
      status: 'rejected',
      reason: 'contact_opted_out',
    });
    expect(p.name).toBe('opt-out');
  });

  it('at dispatch loads segments, zones and the accounts found, once', async () => {
    const seg = claimedSegment({ messageId: 'x', from: '+15550100001', to: '+14155550100' });
    const { ctx, asked } = sources({
      segments: async (segs) => {
        asked.segments!.push(segs);
        return new Map([['x', { accountId: 'a1', contact: undefined, exempt: false }]]);
      },
    });
    const segs = [seg];
    await optOutDispatchPolicy(ctx).load!(segs);
    await quietHoursDispatchPolicy(ctx).load!(segs);
    expect(asked.segments).toEqual([[{ messageId: 'x', from: '+15550100001', to: '+14155550100' }]]);
    expect(asked.zones).toEqual([['+14155550100']]);
    expect(asked.settings).toEqual([['a1']]);
  });
});

describe('opt-out at dispatch', () => {
  it('ends a message to a contact who opted out, lets one to an unknown contact go', async () => {
    const [a, b] = [claimedSegment({ messageId: 'a' }), claimedSegment({ messageId: 'b' })];
    const { ctx } = sources({
      segments: async () =>
        new Map([
          ['a', { accountId: 'a1', contact: { dnd: true, timeZone: null }, exempt: false }],
          ['b', { accountId: 'a1', contact: undefined, exempt: false }],
        ]),
    });
    const p = optOutDispatchPolicy(ctx);
    const l = await p.load!([a, b]);
    expect(p.decide(a, l)).toEqual({
      kind: 'reject',
      code: 'CONTACT_OPTED_OUT',
      message: 'the contact opted out after the message was accepted',
      status: 'failed',
      reason: 'contact_opted_out',
    });
    expect(p.decide(b, l)).toEqual({ kind: 'allow' });
    expect(p.name).toBe('opt-out');
    expect(quietHoursDispatchPolicy(ctx).name).toBe('quiet-hours');
  });
});

describe('quiet hours', () => {
  it('take the contact’s zone, else the number’s, else the account’s', () => {
    expect(
      recipientZones({ dnd: false, timeZone: 'Asia/Tokyo' }, ['America/New_York'], DEFAULT_COMPLIANCE),
    ).toEqual(['Asia/Tokyo']);
    expect(recipientZones(undefined, ['America/Chicago'], DEFAULT_COMPLIANCE)).toEqual(['America/Chicago']);
    expect(recipientZones({ dnd: false, timeZone: null }, [], DEFAULT_COMPLIANCE)).toEqual([
      'America/New_York',
    ]);
  });

  it('answer each recipient of a batch for its own zone (the per-minute memo keys on it)', async () => {
    const { ctx } = sources();
    const p = quietHoursAcceptPolicy(ctx);
    const batch = [
      cand(),
      cand({ id: 'm2', to: '+14155550101', contact: { dnd: false, timeZone: 'Asia/Tokyo' } }),
    ];
    const l = await p.load!(batch);
    expect(p.decide(batch[0]!, l)).toEqual({
      kind: 'defer',
      until: new Date('2026-06-11T12:00:00Z'),
      reason: 'quiet_hours',
    });
    expect(p.decide(batch[1]!, l)).toEqual({ kind: 'allow' }); // 12:00 in Tokyo
    expect(p.name).toBe('quiet-hours');
  });

  it('refuse, when asked to, saying when the window opens', async () => {
    const { ctx } = sources();
    const p = quietHoursAcceptPolicy(ctx);
    const batch = [cand({ quietHours: 'reject' })];
    expect(p.decide(batch[0]!, await p.load!(batch))).toEqual({
      kind: 'reject',
      code: 'QUIET_HOURS',
      message: 'quiet hours where the recipient is; the window opens at 2026-06-11T12:00:00.000Z',
      status: 'rejected',
      reason: 'quiet_hours',
    });
  });

  it('with state rules, apply the recipient state’s hours, the strictest winning (same zone, same minute)', async () => {
    // 20:30 in New York: inside 08:00–21:00, outside Florida's 08:00–20:00.
    const at = new Date('2026-06-11T00:30:00Z');
    const { ctx } = sources({
      settings: async () =>
        settingsOf({ quietHours: { ...DEFAULT_COMPLIANCE.quietHours, stateRules: true } }),
    });
    const p = quietHoursAcceptPolicy(ctx);
    const florida = cand({ to: '+13055550100', now: at });
    const newYork = cand({ id: 'm2', to: '+12125550100', now: at });
    for (const batch of [
      [florida, newYork],
      [newYork, florida],
    ]) {
      const l = await p.load!(batch);
      expect(p.decide(florida, l)).toEqual({
        kind: 'defer',
        until: new Date('2026-06-11T12:00:00Z'),
        reason: 'quiet_hours',
      });
      expect(p.decide(newYork, l)).toEqual({ kind: 'allow' });
    }
  });

  it('keep at most 20,000 memoised answers between batches', async () => {
    const { ctx } = sources();
    const p = quietHoursAcceptPolicy(ctx);
    const memo = () => (ctx as unknown as { quiet: Map<string, unknown> }).quiet.size;
    // One answer per recipient zone, window and minute: 20,000 minutes, 20,000 answers.
    const minute = (i: number) => cand({ id: `m${i}`, now: new Date(NIGHT.getTime() + i * 60_000) });
    const batch = Array.from({ length: 20_000 }, (_, i) => minute(i));
    const l = await p.load!(batch);
    for (const c of batch) p.decide(c, l);
    expect(memo()).toBe(20_000);
    const next = [minute(20_000)];
    p.decide(next[0]!, await p.load!(next)); // at the bound: kept, and one more
    expect(memo()).toBe(20_001);
    await p.load!([minute(0)]); // past it: forgotten
    expect(memo()).toBe(0);
  });

  it('let a message of an account without settings go', async () => {
    const { ctx } = sources({ settings: async () => new Map() });
    const p = quietHoursAcceptPolicy(ctx);
    const batch = [cand()];
    expect(p.decide(batch[0]!, await p.load!(batch))).toEqual({ kind: 'allow' });
  });
});

describe('footer', () => {
  it('claims nothing on a guessed new recipient, and says so', async () => {
    const claimed: string[] = [];
    const { ctx } = sources({
      claimFirst: async (cs) => {
        claimed.push(...cs.map((c) => c.messageId));
        return new Set(cs.map((c) => c.messageId));
      },
    });
    const p = footerAcceptPolicy(ctx);
    const guessed = cand({ id: 'g', guessedNewContact: true });
    const known = cand({ id: 'k', to: '+14155550199' });
    const l = await p.load!([guessed, known]);
    expect(claimed).toEqual(['k']);
    expect(guessed.guessRefused).toBe(true);
    expect(known.guessRefused).toBeUndefined();
    expect(p.decide(guessed, l)).toEqual({ kind: 'allow' });
  });
});

describe('frequency cap', () => {
  const capped = settingsOf({ frequencyCap: { enabled: true, max: 2, hours: 24 } });

  it('counts only for accounts that set one, and asks for nothing when none does', async () => {
    const { ctx, asked } = sources();
    const p = frequencyCapPolicy(ctx);
    expect(p.name).toBe('frequency-cap');
    const batch = [cand(), cand({ id: 'm2', accountId: 'a2' })];
    const l = await p.load!(batch);
    expect(asked.recentCounts).toEqual([]);
    expect(asked.settings).toEqual([['a1', 'a2']]);
    expect(batch.map((c) => p.decide(c, l))).toEqual([{ kind: 'allow' }, { kind: 'allow' }]);
  });

  it('refuses beyond the cap, saying what it is', async () => {
    const { ctx, asked } = sources({
      settings: async () => capped,
      recentCounts: async (pairs) => {
        asked.recentCounts!.push(pairs);
        return new Map([['a1 +14155550100', 1]]);
      },
    });
    const p = frequencyCapPolicy(ctx);
    const batch = [cand(), cand({ id: 'm2' }), cand({ id: 'm3', accountId: 'a2' })];
    const l = await p.load!(batch);
    expect(asked.recentCounts).toEqual([[{ accountId: 'a1', to: '+14155550100', sinceMs: 86_400_000 }]]);
    expect(p.decide(batch[0]!, l)).toEqual({ kind: 'allow' });
    expect(p.decide(batch[1]!, l)).toEqual({
      kind: 'reject',
      code: 'FREQUENCY_CAP',
      message: 'at most 2 messages to one contact per 24 h',
      status: 'rejected',
      reason: 'frequency_cap',
    });
    expect(p.decide(batch[2]!, l)).toEqual({ kind: 'allow' });
  });
});
