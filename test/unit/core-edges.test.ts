// Edges of the pure messaging core that mutation testing showed unpinned: policy boundaries,
// pipeline ordering, retry reasons and stored-part references.
import { describe, expect, it } from 'vitest';
import type { AcceptCandidate } from '../../src/messaging/compose.ts';
import { MAX_SCHEDULE_MS } from '../../src/messaging/compose.ts';
import {
  DEFAULT_PROFILE,
  encodeForProfile,
  profileKey,
  referenceOf,
} from '../../src/messaging/encode-profile.ts';
import { outcomeFor, submitFieldsFor } from '../../src/messaging/outcome.ts';
import { ALLOW, Pipeline, type Policy } from '../../src/messaging/pipeline.ts';
import {
  carrierAvailablePolicy,
  DestinationBackoff,
  schedulePolicy,
  validityPolicy,
} from '../../src/messaging/policies.ts';
import type { Router } from '../../src/messaging/router.ts';
import { claimedSegment } from '../helpers/core-fixtures.ts';

const seg = claimedSegment({ messageId: 'm1', idx: 2, parts: 3 });

const candidate = (now: Date, sendAt?: Date) => ({ now, sendAt }) as AcceptCandidate;

describe('schedule policy', () => {
  const now = new Date('2026-12-02T12:00:00Z');
  it('allows now or the past, defers the future until sendAt, refuses beyond 35 days', () => {
    expect(schedulePolicy.name).toBe('schedule');
    expect(schedulePolicy.decide(candidate(now), undefined as never)).toBe(ALLOW);
    expect(schedulePolicy.decide(candidate(now, now), undefined as never)).toBe(ALLOW);
    const soon = new Date(now.getTime() + 1);
    expect(schedulePolicy.decide(candidate(now, soon), undefined as never)).toEqual({
      kind: 'defer',
      until: soon,
      reason: 'scheduled',
    });
    const horizon = new Date(now.getTime() + MAX_SCHEDULE_MS);
    expect(schedulePolicy.decide(candidate(now, horizon), undefined as never)).toMatchObject({
      kind: 'defer',
    });
    expect(
      schedulePolicy.decide(candidate(now, new Date(horizon.getTime() + 1)), undefined as never),
    ).toEqual({
      kind: 'reject',
      code: 'INVALID_SEND_AT',
      message: 'sendAt may be at most 35 days ahead',
      status: 'rejected',
      reason: 'scheduled',
    });
  });
});

describe('validity policy', () => {
  it('expires a segment whose validity ends at this very moment', async () => {
    expect(validityPolicy.name).toBe('validity');
    const now = await validityPolicy.load!([seg]);
    expect(Math.abs((now as number) - Date.now())).toBeLessThan(1_000);
    const at = 1_000_000;
    expect(validityPolicy.decide({ ...seg, expiresAt: new Date(at + 1) }, at)).toBe(ALLOW);
    expect(validityPolicy.decide({ ...seg, expiresAt: new Date(at) }, at)).toEqual({
      kind: 'reject',
      code: 'VALIDITY_EXPIRED',
      message: 'not submitted before its validity ran out',
      status: 'expired',
      reason: 'validity_expired',
    });
  });
});

describe('destination back-off', () => {
  it('waits longer with every queue-full of one destination, from 200 ms up', () => {
    const b = new DestinationBackoff();
    const waits = Array.from({ length: 5 }, () => b.hit('+1', 0));
    expect(waits[0]).toBeLessThanOrEqual(200);
    // Full jitter within [cap/10, cap]: the fifth wait's cap is 3,200 ms, its floor 320.
    expect(waits[4]).toBeGreaterThanOrEqual(320);
    expect(waits[4]).toBeLessThanOrEqual(3_200);
  });

  it('is over at its deadline, and forgotten on clear', () => {
    const b = new DestinationBackoff();
    const wait = b.hit('+1', 1_000);
    expect(b.until('+1', 1_000 + wait - 1)).toBe(1_000 + wait);
    expect(b.until('+1', 1_000 + wait)).toBeUndefined();
    b.hit('+2', 0);
    b.clear('+2');
    expect(b.until('+2', 0)).toBeUndefined();
    expect(b.size).toBe(1);
  });

  it('holds at most maxEntries destinations, dropping the oldest', () => {
    const b = new DestinationBackoff(undefined, 2);
    b.hit('+1', 0);
    b.hit('+2', 0);
    b.hit('+3', 0);
    expect(b.size).toBe(2);
    expect(b.until('+1', 0)).toBeUndefined();
    expect(b.until('+3', 0)).toBeDefined();
  });

  it('defers only the busy destination, as a policy', async () => {
    const b = new DestinationBackoff();
    const p = b.policyFor();
    expect(p.name).toBe('destination-backoff');
    expect(typeof (await p.load!([seg]))).toBe('number');
    expect(p.decide(seg, 0)).toBe(ALLOW);
    const wait = b.hit(seg.to, 0);
    expect(p.decide(seg, 0)).toEqual({ kind: 'defer', until: new Date(wait), reason: 'destination_busy' });
    expect(p.decide({ ...seg, to: '+14155550999' }, 0)).toBe(ALLOW);
  });
});

describe('carrier-available policy', () => {
  it('defers by waitMs when no carrier of the route is bound', async () => {
    const none = { pick: () => undefined } as unknown as Router;
    const some = { pick: () => ({}) } as unknown as Router;
    const p = carrierAvailablePolicy(none, 1_500);
    expect(p.name).toBe('carrier-available');
    expect(typeof (await p.load!([seg]))).toBe('number');
    expect(p.decide(seg, 10_000)).toEqual({
      kind: 'defer',
      until: new Date(11_500),
      reason: 'no_carrier_bound',
    });
    expect(carrierAvailablePolicy(some).decide(seg, 0)).toBe(ALLOW);
  });
});

describe('pipeline', () => {
  const named = (name: string, seen: string[]): Policy<{ body: string }> => ({
    name,
    decide: () => {
      seen.push(name);
      return ALLOW;
    },
  });

  it('inserts before a named policy, at the front too, and appends when the name is unknown', async () => {
    const seen: string[] = [];
    const p = new Pipeline<{ body: string }>([named('a', seen), named('b', seen)]);
    p.use(named('first', seen), 'a');
    p.use(named('mid', seen), 'b');
    p.use(named('last', seen), 'nope');
    p.use(named('end', seen));
    expect(p.names).toEqual(['first', 'a', 'mid', 'b', 'last', 'end']);
    await p.run([{ body: 'x' }]);
    expect(seen).toEqual(['first', 'a', 'mid', 'b', 'last', 'end']);
  });

  it('lets a deferred subject still be refused or changed; the latest defer wins', async () => {
    type S = { body: string };
    const defer = (name: string, t: number): Policy<S> => ({
      name,
      decide: () => ({ kind: 'defer', until: new Date(t), reason: 'scheduled' }),
    });
    const refuse: Policy<S> = {
      name: 'refuse',
      decide: (s) =>
        s.body === 'no'
          ? { kind: 'reject', code: 'X', message: 'x', status: 'rejected', reason: 'carrier_rejected' }
          : ALLOW,
    };
    const add: Policy<S> = { name: 'add', decide: (s) => ({ kind: 'transform', body: `${s.body}!` }) };
    const p = new Pipeline<S>([defer('a', 10), defer('b', 30), defer('c', 20), refuse, add], (s, body) => ({
      ...s,
      body,
    }));
    const [ok, no] = await p.run([{ body: 'yes' }, { body: 'no' }]);
    expect(ok).toEqual({
      decision: { kind: 'defer', until: new Date(30), reason: 'scheduled' },
      body: 'yes!',
      policy: 'b',
    });
    expect(no).toMatchObject({ decision: { kind: 'reject', code: 'X' }, policy: 'refuse' });
  });

  it('loads a late policy after the earlier ones, for the subjects still going', async () => {
    type S = { body: string };
    const order: string[] = [];
    const early: Policy<S, number> = {
      name: 'early',
      load: async () => {
        order.push('early');
        return 0;
      },
      decide: (s) =>
        s.body === 'no'
          ? { kind: 'reject', code: 'X', message: 'x', status: 'rejected', reason: 'carrier_rejected' }
          : ALLOW,
    };
    let claimed: string[] = [];
    const late: Policy<S, Set<string>> = {
      name: 'late',
      late: true,
      load: async (ss) => {
        order.push('late');
        claimed = ss.map((s) => s.body);
        return new Set(claimed);
      },
      decide: (s, got) => (got.has(s.body) ? { kind: 'transform', body: `${s.body}+` } : ALLOW),
    };
    const p = new Pipeline<S>([late, early].reverse(), (s, body) => ({ ...s, body }));
    const v = await p.run([{ body: 'a' }, { body: 'no' }, { body: 'b' }]);
    expect(order).toEqual(['early', 'late']);
    expect(claimed).toEqual(['a', 'b']);
    expect(v.map((x) => x.body)).toEqual(['a+', undefined, 'b+']);
  });

  it('loads nothing for an empty batch', async () => {
    let loads = 0;
    const p = new Pipeline<{ body: string }>([{ name: 'l', load: async () => loads++, decide: () => ALLOW }]);
    expect(await p.run([])).toEqual([]);
    expect(loads).toBe(0);
  });

  it('passes a subject on unchanged when no withBody is given', async () => {
    const got: string[] = [];
    const transform: Policy<{ body: string }> = {
      name: 't',
      decide: () => ({ kind: 'transform', body: 'new' }),
    };
    const p = new Pipeline<{ body: string }>([
      transform,
      {
        name: 'r',
        decide: (s: { body: string }) => {
          got.push(s.body);
          return ALLOW;
        },
      },
    ]);
    expect((await p.run([{ body: 'old' }]))[0]!.body).toBe('new');
    expect(got).toEqual(['old']);
  });
});

describe('outcomes', () => {
  const retry = { initialMs: 100, maxMs: 1e9, multiplier: 10 };
  const retryable = (code: string, possiblySubmitted = false) =>
    ({ kind: 'retryable', code, reason: code, attempts: 1, possiblySubmitted }) as const;

  it('names why each retryable answer sends the segment back', () => {
    const reasons = {
      SMPP_RESPONSE_TIMEOUT: 'response_timeout',
      SMPP_BIND_LOST: 'bind_lost',
      SMPP_BIND_STATE: 'bind_lost',
      CARRIER_STOPPED: 'bind_lost',
      NO_BIND_AVAILABLE: 'no_carrier_bound',
      SMPP_THROTTLED: 'throttled',
      SMPP_TEMPORARY_ERROR: 'temporary_error',
      SMPP_QUEUE_FULL: 'destination_busy',
      SOMETHING_NEW: 'temporary_error',
    };
    for (const [code, reason] of Object.entries(reasons))
      expect(outcomeFor(seg, 'c', retryable(code), retry), code).toMatchObject({
        messageId: 'm1',
        idx: 2,
        status: 'queued',
        reason,
        possibleDuplicate: false,
        deferred: false,
      });
  });

  it('resends a possibly-submitted segment at once, marked, and not as deferred', () => {
    expect(outcomeFor(seg, 'c', retryable('SMPP_RESPONSE_TIMEOUT', true), retry)).toEqual({
      messageId: 'm1',
      idx: 2,
      status: 'queued',
      delayMs: 0,
      possibleDuplicate: true,
      reason: 'response_timeout',
      deferred: false,
    });
  });

  it('waits the bind retry delay for its attempt number, the destination wait for queue-full', () => {
    // attempts 1 → attempt 0 of the policy: at most 100 ms (the next attempt's cap is 1,000).
    for (let i = 0; i < 20; i++) {
      const o = outcomeFor(seg, 'c', retryable('SMPP_THROTTLED'), retry) as { delayMs: number };
      expect(o.delayMs).toBeLessThanOrEqual(100);
    }
    const third = outcomeFor({ ...seg, attempts: 3 }, 'c', retryable('SMPP_THROTTLED'), retry) as {
      delayMs: number;
    };
    expect(third.delayMs).toBeGreaterThanOrEqual(1_000);
    expect(outcomeFor(seg, 'c', retryable('SMPP_QUEUE_FULL'), retry, 777)).toMatchObject({ delayMs: 777 });
  });

  it('sends no service type and no validity period (the SMSC defaults)', () => {
    expect(submitFieldsFor(seg)).toMatchObject({ serviceType: '', validityPeriod: '' });
  });
});

describe('encode profiles', () => {
  it('keys the default profile', () => {
    expect(profileKey(DEFAULT_PROFILE)).toBe('g0.u.r8.udh');
  });

  it('puts a payload-mode message in message_payload, UDH parts in short_message', () => {
    const payload = encodeForProfile('x'.repeat(300), { ...DEFAULT_PROFILE, longMessageMode: 'payload' }, 1);
    expect(payload.segments.map((s) => s.usePayloadTlv)).toEqual([true]);
    const udh = encodeForProfile('x'.repeat(300), DEFAULT_PROFILE, 1);
    expect(udh.segments.map((s) => s.usePayloadTlv)).toEqual([false, false]);
    expect(udh.segments.map((s) => s.esmClass)).toEqual([0x40, 0x40]);
  });

  it('reads the reference of a stored UDH part, 8- or 16-bit, and nothing else', () => {
    expect(referenceOf(Buffer.from([5, 0x00, 3, 0xab, 2, 1]), 0x40)).toBe(0xab);
    expect(referenceOf(Buffer.from([6, 0x08, 4, 0x12, 0x34, 2, 1]), 0x40)).toBe(0x1234);
    expect(referenceOf(Buffer.from([5, 0x00, 3, 0xab, 2, 1]), 0x00)).toBeUndefined();
    expect(referenceOf(Buffer.from([5, 0x00, 3, 0xab, 2]), 0x40)).toBeUndefined();
    expect(referenceOf(Buffer.from([6, 0x08, 4, 0x12, 0x34, 2]), 0x40)).toBeUndefined();
    expect(referenceOf(Buffer.from([5, 0x00, 4, 0xab, 2, 1]), 0x40)).toBeUndefined();
    expect(referenceOf(Buffer.from([5, 0x01, 3, 0xab, 2, 1]), 0x40)).toBeUndefined();
    expect(referenceOf(Buffer.from([6, 0x08, 3, 0x12, 0x34, 2, 1]), 0x40)).toBeUndefined();
    expect(referenceOf(Buffer.from([6, 0x07, 4, 0x12, 0x34, 2, 1]), 0x40)).toBeUndefined();
  });
});
