import { describe, expect, it } from 'vitest';
import { DEFAULT_PROFILE } from '../../src/messaging/encode-profile.ts';
import { commandStatusCode, outcomeFor, submitFieldsFor } from '../../src/messaging/outcome.ts';
import { ALLOW, Pipeline, type Policy } from '../../src/messaging/pipeline.ts';
import {
  carrierAvailablePolicy,
  DestinationBackoff,
  schedulePolicy,
  validityPolicy,
} from '../../src/messaging/policies.ts';
import type { CarrierLink } from '../../src/messaging/ports.ts';
import { segmentStatusFor } from '../../src/messaging/receipts.ts';
import { Router } from '../../src/messaging/router.ts';
import { claimedSegment } from '../helpers/core-fixtures.ts';

const seg = claimedSegment();
const retry = { initialMs: 100, maxMs: 1000, multiplier: 2 };

describe('submit_sm fields', () => {
  it('uses international TON/NPI, network-specific for short codes, message_payload when asked', () => {
    expect(submitFieldsFor(seg)).toMatchObject({
      sourceAddr: '15550100001',
      sourceAddrTon: 1,
      destinationAddr: '14155550123',
      registeredDelivery: 1,
    });
    expect(submitFieldsFor({ ...seg, from: '12345', numberType: 'short_code' })).toMatchObject({
      sourceAddr: '12345',
      sourceAddrTon: 3,
      sourceAddrNpi: 0,
    });
    expect(submitFieldsFor({ ...seg, usePayloadTlv: true })).toMatchObject({
      shortMessage: Buffer.alloc(0),
      messagePayload: Buffer.from('hi'),
    });
  });
  it('sends a re-encoding instead of the stored payload when given one', () => {
    const f = submitFieldsFor(seg, {
      payload: Buffer.from('x'),
      dataCoding: 1,
      esmClass: 0,
      usePayloadTlv: true,
    });
    expect(f).toMatchObject({
      dataCoding: 1,
      messagePayload: Buffer.from('x'),
      shortMessage: Buffer.alloc(0),
    });
  });
});

describe('outcomes', () => {
  it('maps carrier answers to the next segment state; resends a possibly-submitted segment at most once', () => {
    expect(
      outcomeFor(
        seg,
        'c',
        { kind: 'ok', messageId: '00AB', idKey: 'n:171', bindId: 'b', attempts: 1 },
        retry,
      ),
    ).toMatchObject({
      status: 'sent',
      smscId: '00AB',
      idKey: 'n:171',
    });
    expect(
      outcomeFor(
        seg,
        'c',
        { kind: 'failed', code: 'SMPP_REJECTED', reason: 'ESME_RINVDSTADR', commandStatus: 11, attempts: 1 },
        retry,
      ),
    ).toMatchObject({ status: 'failed', reason: 'invalid_number', errorCode: '0x0000000b' });
    expect(
      outcomeFor(
        seg,
        'c',
        { kind: 'failed', code: 'SMPP_REJECTED', reason: 'x', commandStatus: 0x45, attempts: 1 },
        retry,
      ),
    ).toMatchObject({ status: 'failed', reason: 'carrier_rejected', errorCode: '0x00000045' });
    const lost = {
      kind: 'retryable' as const,
      code: 'SMPP_BIND_LOST',
      reason: 'x',
      attempts: 1,
      possiblySubmitted: true,
    };
    expect(outcomeFor(seg, 'c', lost, retry)).toMatchObject({
      status: 'queued',
      possibleDuplicate: true,
      delayMs: 0,
      reason: 'bind_lost',
    });
    expect(outcomeFor({ ...seg, resends: 1 }, 'c', lost, retry)).toMatchObject({
      status: 'failed',
      reason: 'submit_outcome_unknown',
    });
    const noBind = outcomeFor(
      seg,
      'c',
      { ...lost, possiblySubmitted: false, code: 'NO_BIND_AVAILABLE' },
      retry,
    );
    expect(noBind).toMatchObject({
      status: 'queued',
      possibleDuplicate: false,
      reason: 'no_carrier_bound',
      deferred: false,
    });
  });
  // Regression (issue 6): 0x14 slowed the whole bind; it is the destination's queue that is full.
  it('sends a queue-full segment back after its destination back-off, not the bind retry delay', () => {
    const qf = {
      kind: 'retryable' as const,
      code: 'SMPP_QUEUE_FULL',
      reason: 'x',
      commandStatus: 0x14,
      attempts: 1,
      possiblySubmitted: false,
    };
    expect(outcomeFor(seg, 'c', qf, retry, 1234)).toMatchObject({
      status: 'queued',
      delayMs: 1234,
      reason: 'destination_busy',
    });
    expect(commandStatusCode(0x14)).toBe('0x00000014');
  });
  it('maps every final receipt state, and UNKNOWN to unknown (never delivered)', () => {
    expect(segmentStatusFor('DELIVERED')).toEqual({ status: 'delivered', reason: null });
    expect(segmentStatusFor('UNDELIVERABLE')).toEqual({
      status: 'undelivered',
      reason: 'receipt_undeliverable',
    });
    expect(segmentStatusFor('REJECTED')).toEqual({ status: 'rejected', reason: 'receipt_rejected' });
    expect(segmentStatusFor('EXPIRED')).toEqual({ status: 'expired', reason: 'receipt_expired' });
    expect(segmentStatusFor('DELETED')).toEqual({ status: 'failed', reason: 'receipt_deleted' });
    expect(segmentStatusFor('SKIPPED')).toEqual({ status: 'failed', reason: 'receipt_skipped' });
    expect(segmentStatusFor('UNKNOWN')).toEqual({ status: 'unknown', reason: 'receipt_unknown' });
    expect(segmentStatusFor('ENROUTE')).toBeUndefined();
    expect(segmentStatusFor('ACCEPTED')).toBeUndefined();
  });
});

function link(id: string, healthy: number): CarrierLink {
  return {
    id,
    profile: DEFAULT_PROFILE,
    healthyTransmitters: healthy,
    submit: async () => ({ kind: 'ok', messageId: '1', idKey: 'n:1', bindId: 'b', attempts: 1 }),
  };
}

describe('routing', () => {
  it('picks the first matching rule and fails over to a healthy carrier', () => {
    const a = link('a', 0);
    const b = link('b', 1);
    const r = new Router(
      [a, b],
      [
        { numberTypes: ['toll_free'], carriers: ['b'] },
        { prefixes: ['+44'], carriers: ['b', 'a'] },
        { carriers: ['a', 'b'] },
      ],
    );
    expect(r.candidates('toll_free', '+14155550123').map((c) => c.id)).toEqual(['b']);
    expect(r.candidates('local', '+447700900123').map((c) => c.id)).toEqual(['b', 'a']);
    expect(r.candidates('local', '+14155550123').map((c) => c.id)).toEqual(['a', 'b']);
    expect(r.pick('local', '+14155550123')?.id).toBe('b');
    expect(r.primaryProfile('local', '+14155550123')).toBe(DEFAULT_PROFILE);
    expect(() => new Router([a], [{ carriers: ['zzz'] }])).toThrow(/unknown carrier/);
    expect(new Router([link('x', 0)], []).pick('local', '+1')).toBeUndefined();
  });
});

describe('the policy pipeline', () => {
  type S = { body: string; n: number };
  const footer: Policy<S> = {
    name: 'footer',
    decide: (s) => ({ kind: 'transform', body: `${s.body} STOP=end` }),
  };
  const long: Policy<S, number> = {
    name: 'long',
    load: async () => 12,
    decide: (s, max) =>
      s.body.length > max ? { kind: 'defer', until: new Date(5), reason: 'scheduled' } : ALLOW,
  };
  const odd: Policy<S> = {
    name: 'odd',
    decide: (s) =>
      s.n % 2
        ? { kind: 'reject', code: 'X', message: 'odd', status: 'failed', reason: 'carrier_rejected' }
        : ALLOW,
  };

  it('runs policies in order, passing transformed bodies on, and stops at the first reject', async () => {
    let loads = 0;
    const counting: Policy<S, number> = {
      ...long,
      load: async () => {
        loads++;
        return 12;
      },
    };
    const p = new Pipeline<S>([odd, footer, counting], (s, body) => ({ ...s, body }));
    const v = await p.run([
      { body: 'hi', n: 2 },
      { body: 'hello', n: 3 },
      { body: 'hey', n: 4 },
    ]);
    expect(v[0]).toEqual({ decision: ALLOW, body: 'hi STOP=end' });
    expect(v[1]).toMatchObject({ decision: { kind: 'reject', code: 'X' }, policy: 'odd' });
    expect(v[2]).toMatchObject({ decision: { kind: 'allow' }, body: 'hey STOP=end' });
    expect(loads).toBe(1); // context loaded once per batch
    const p2 = new Pipeline<S>([footer, long], (s, body) => ({ ...s, body }));
    expect((await p2.run([{ body: 'abcd', n: 0 }]))[0]).toMatchObject({
      decision: { kind: 'defer' },
      body: 'abcd STOP=end',
      policy: 'long',
    });
  });
  it('lets later policies be plugged in by name', () => {
    const p = new Pipeline<S>([odd, long]);
    p.use(footer, 'long');
    expect(p.names).toEqual(['odd', 'footer', 'long']);
  });
});

describe('first policies', () => {
  it('schedule: defers a future sendAt, refuses one beyond 35 days', () => {
    const now = new Date('2026-11-26T12:00:00Z');
    const c = { sendAt: new Date(now.getTime() + 3_600_000), now } as never;
    expect(schedulePolicy.decide(c, undefined)).toMatchObject({ kind: 'defer', reason: 'scheduled' });
    expect(
      schedulePolicy.decide({ sendAt: new Date(now.getTime() + 36 * 86_400_000), now } as never, undefined),
    ).toMatchObject({ kind: 'reject', code: 'INVALID_SEND_AT' });
    expect(schedulePolicy.decide({ sendAt: undefined, now } as never, undefined)).toBe(ALLOW);
  });
  it('validity: an expired segment ends expired', () => {
    expect(validityPolicy.decide({ ...seg, expiresAt: new Date(1000) }, 2000)).toMatchObject({
      kind: 'reject',
      status: 'expired',
      reason: 'validity_expired',
    });
    expect(validityPolicy.decide(seg, Date.now())).toBe(ALLOW);
  });
  it('carrier available: no healthy carrier on the route defers the segment', () => {
    expect(carrierAvailablePolicy(new Router([link('a', 0)], [])).decide(seg, 1000)).toMatchObject({
      kind: 'defer',
      reason: 'no_carrier_bound',
      until: new Date(2000),
    });
    expect(carrierAvailablePolicy(new Router([link('a', 1)], [])).decide(seg, 1000)).toBe(ALLOW);
  });
  it('destination back-off grows per queue-full answer, clears on success, and is bounded', () => {
    const b = new DestinationBackoff({ initialMs: 100, maxMs: 10_000, multiplier: 2 }, 3);
    const w1 = b.hit('+1', 0);
    const w2 = b.hit('+1', 0);
    expect(w1).toBeGreaterThanOrEqual(10);
    expect(w1).toBeLessThanOrEqual(100);
    expect(w2).toBeLessThanOrEqual(200);
    expect(b.policyFor().decide({ ...seg, to: '+1' }, 0)).toMatchObject({
      kind: 'defer',
      reason: 'destination_busy',
    });
    expect(b.policyFor().decide({ ...seg, to: '+2' }, 0)).toBe(ALLOW);
    b.clear('+1');
    expect(b.until('+1', 0)).toBeUndefined();
    for (const d of ['+a', '+b', '+c', '+d']) b.hit(d, 0);
    expect(b.size).toBe(3);
    expect(b.until('+a', 0)).toBeUndefined(); // the oldest went
  });
});
