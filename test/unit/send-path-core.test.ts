import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseCarrierConfig } from '../../src/config/carrier-config.ts';
import { loadConfig } from '../../src/config/config.ts';
import { AppError, ConfigError } from '../../src/errors/app-error.ts';
import { composeMessage, requestHash } from '../../src/messaging/compose.ts';
import { outcomeFor, submitFieldsFor } from '../../src/messaging/dispatcher.ts';
import { numberKey } from '../../src/messaging/inbound-service.ts';
import { MemoryParking } from '../../src/messaging/parking.ts';
import { segmentStatusFor } from '../../src/messaging/receipt-service.ts';
import { Router } from '../../src/messaging/router.ts';
import { signWebhook } from '../../src/messaging/webhooks.ts';
import { normalizeSendingNumber, toE164 } from '../../src/numbers/phone.ts';
import { Carrier } from '../../src/smpp/carrier.ts';
import { Batcher } from '../../src/store/batcher.ts';
import type { ClaimedSegment } from '../../src/store/dispatch-repo.ts';
import { silent } from '../helpers/smpp.ts';

const policy = { defaultRegion: 'US', maxSegments: 10, validityMs: 3_600_000, encode: {} };
const ctx = {
  accountId: 'acc',
  from: { e164: '+15550100001', type: 'local' as const },
  now: new Date('2026-11-26T12:00:00Z'),
  referenceNumber: 7,
};

describe('composeMessage', () => {
  it('normalises numbers, encodes and segments', () => {
    const d = composeMessage({ to: '(415) 555-0123', body: 'x'.repeat(200) }, ctx, policy);
    expect(d.to).toBe('+14155550123');
    expect(d.segmentCount).toBe(2);
    expect(d.segments.map((s) => s.payload.subarray(0, 6).toString('hex'))).toEqual([
      '050003070201',
      '050003070202',
    ]);
    expect(d.segments.every((s) => s.esmClass === 0x40 && !s.usePayloadTlv)).toBe(true);
    expect(d.expiresAt.toISOString()).toBe('2026-11-26T13:00:00.000Z');
  });
  it('rejects bad input with stable codes', () => {
    const code = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return (e as AppError).code;
      }
      return 'none';
    };
    expect(code(() => composeMessage({ to: 'x', body: 'b' }, ctx, policy))).toBe('INVALID_TO_NUMBER');
    expect(code(() => composeMessage({ to: '+14155550123', body: '' }, ctx, policy))).toBe('BODY_EMPTY');
    expect(code(() => composeMessage({ to: '+14155550123', body: 'Ж'.repeat(700) }, ctx, policy))).toBe(
      'BODY_TOO_LONG',
    );
    expect(code(() => composeMessage({ to: '+14155550123', body: 'b', sendAt: 'soon' }, ctx, policy))).toBe(
      'INVALID_SEND_AT',
    );
    expect(
      code(() =>
        composeMessage({ to: '+14155550123', body: 'b', sendAt: '2027-06-01T00:00:00Z' }, ctx, policy),
      ),
    ).toBe('INVALID_SEND_AT');
    expect(
      code(() =>
        composeMessage({ to: '+14155550123', body: 'b', statusCallback: 'javascript:x' }, ctx, policy),
      ),
    ).toBe('INVALID_CALLBACK_URL');
  });
  it('treats a sendAt in the past as now and keeps validity from the send time', () => {
    expect(
      composeMessage({ to: '+14155550123', body: 'b', sendAt: '2020-01-01T00:00:00Z' }, ctx, policy).sendAt,
    ).toBeUndefined();
    const later = composeMessage(
      { to: '+14155550123', body: 'b', sendAt: '2026-11-27T12:00:00Z' },
      ctx,
      policy,
    );
    expect(later.expiresAt.toISOString()).toBe('2026-11-27T13:00:00.000Z');
  });
  it('hashes requests so that only identical ones replay', () => {
    expect(requestHash({ to: '+1', body: 'a' })).toBe(requestHash({ to: '+1', body: 'a' }));
    expect(requestHash({ to: '+1', body: 'a' })).not.toBe(requestHash({ to: '+1', body: 'b' }));
    expect(requestHash({ to: '+1', body: 'a', metadata: { x: 1 } })).not.toBe(
      requestHash({ to: '+1', body: 'a' }),
    );
  });
  it('puts parts over 254 octets or payload mode into message_payload', () => {
    const d = composeMessage({ to: '+14155550123', body: 'x'.repeat(400) }, ctx, {
      ...policy,
      encode: { mode: 'payload' },
    });
    expect(d.segments).toHaveLength(1);
    expect(d.segments[0]!.usePayloadTlv).toBe(true);
    expect(d.segmentCount).toBe(3);
  });
});

describe('numbers', () => {
  it('normalises to E.164 and keeps short codes as digits', () => {
    expect(toE164('+44 7700 900123', 'US')).toBe('+447700900123');
    expect(toE164('07700 900123', 'GB')).toBe('+447700900123');
    expect(() => toE164('12', 'US')).toThrow(AppError);
    expect(normalizeSendingNumber('12345', 'short_code', 'US')).toBe('12345');
    expect(() => normalizeSendingNumber('+14155550123', 'short_code', 'US')).toThrow(/short code/);
    expect(numberKey('15550100001')).toBe('+15550100001');
    expect(numberKey('12345')).toBe('12345');
  });
});

const seg: ClaimedSegment = {
  messageId: 'm',
  idx: 0,
  from: '+15550100001',
  to: '+14155550123',
  numberType: 'local',
  payload: Buffer.from('hi'),
  dataCoding: 0,
  esmClass: 0,
  usePayloadTlv: false,
  expiresAt: new Date(Date.now() + 60_000),
  attempts: 1,
  resends: 0,
};
const retry = { initialMs: 100, maxMs: 1000, multiplier: 2 };

describe('dispatch decisions', () => {
  it('builds submit_sm fields with international TON/NPI, network-specific for short codes', () => {
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
  it('maps carrier answers to the next segment state; resends a possibly-submitted segment at most once', () => {
    expect(
      outcomeFor(seg, 'c', { kind: 'ok', messageId: '00AB', bindId: 'b', attempts: 1 }, retry),
    ).toMatchObject({ status: 'sent', smscId: '00AB', idKeys: ['n:171'] });
    expect(
      outcomeFor(
        seg,
        'c',
        { kind: 'failed', code: 'SMPP_REJECTED', reason: 'ESME_RINVDSTADR', commandStatus: 11, attempts: 1 },
        retry,
      ),
    ).toMatchObject({ status: 'failed', commandStatus: 11 });
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
    });
    expect(outcomeFor({ ...seg, resends: 1 }, 'c', lost, retry)).toMatchObject({
      status: 'failed',
      reason: 'SUBMIT_OUTCOME_UNKNOWN',
    });
    const noBind = outcomeFor(
      seg,
      'c',
      { ...lost, possiblySubmitted: false, code: 'NO_BIND_AVAILABLE' },
      retry,
    );
    expect(noBind).toMatchObject({ status: 'queued', possibleDuplicate: false });
  });
  it('maps final receipt states to segment statuses and ignores intermediate ones', () => {
    expect(segmentStatusFor('DELIVERED')).toBe('delivered');
    expect(segmentStatusFor('UNDELIVERABLE')).toBe('undelivered');
    expect(segmentStatusFor('REJECTED')).toBe('rejected');
    expect(segmentStatusFor('EXPIRED')).toBe('expired');
    expect(segmentStatusFor('ENROUTE')).toBeUndefined();
    expect(segmentStatusFor('ACCEPTED')).toBeUndefined();
  });
});

describe('routing', () => {
  const carrier = (id: string) =>
    new Carrier(
      parseCarrierConfig({ id, host: '127.0.0.1', port: 1, systemId: 's', password: 'p' }),
      { onReceipt: () => undefined, onMo: () => undefined },
      silent,
    );
  it('picks the first matching rule and fails over to a bound carrier', () => {
    const a = carrier('a');
    const b = carrier('b');
    const r = new Router(
      [a, b],
      [
        { numberTypes: ['toll_free'], carriers: ['b'] },
        { prefixes: ['+44'], carriers: ['b', 'a'] },
        { carriers: ['a', 'b'] },
      ],
    );
    expect(r.candidates('toll_free', '+14155550123').map((c) => c.cfg.id)).toEqual(['b']);
    expect(r.candidates('local', '+447700900123').map((c) => c.cfg.id)).toEqual(['b', 'a']);
    expect(r.candidates('local', '+14155550123').map((c) => c.cfg.id)).toEqual(['a', 'b']);
    expect(r.pick('local', '+14155550123')).toBeUndefined();
    expect(() => new Router([a], [{ carriers: ['zzz'] }])).toThrow(/unknown carrier/);
  });
});

describe('webhook signature', () => {
  it('is HMAC-SHA256 over "timestamp.body"', () => {
    expect(signWebhook('k', 'body', 5)).toBe(
      `t=5,v1=${createHmac('sha256', 'k').update('5.body').digest('hex')}`,
    );
  });
});

describe('receipt parking (in-process)', () => {
  it('finds a parked receipt by any of its keys and expires it after the TTL', async () => {
    const p = new MemoryParking();
    const r = {
      carrierId: 'c',
      idKeys: ['n:1', 'n:2'],
      status: 'delivered' as const,
      errorCode: undefined,
      reason: 'R',
    };
    await p.park(r, 1_000);
    expect(p.size).toBe(1);
    expect(await p.take([{ carrierId: 'other', key: 'n:2' }])).toEqual([]);
    expect(await p.take([{ carrierId: 'c', key: 'n:2' }])).toEqual([r]);
    expect(p.size).toBe(0);
    await p.park(r, 10);
    expect(await p.expired(Date.now() + 20)).toEqual([r]);
    expect(p.size).toBe(0);
  });
});

describe('Batcher', () => {
  it('coalesces concurrent adds into one flush and settles each caller', async () => {
    const flushes: number[][] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        flushes.push(xs);
        return xs.map((x) => x * 2);
      },
      { maxItems: 100, maxDelayMs: 5, concurrency: 1 },
    );
    expect(await Promise.all([1, 2, 3].map((x) => b.add(x)))).toEqual([2, 4, 6]);
    expect(flushes).toEqual([[1, 2, 3]]);
  });
  it('flushes at maxItems, keeps addAll groups together, and rejects every caller of a failed flush', async () => {
    const sizes: number[] = [];
    const b = new Batcher<number, number>(
      async (xs) => {
        sizes.push(xs.length);
        if (xs.includes(-1)) throw new Error('db down');
        return xs;
      },
      { maxItems: 3, maxDelayMs: 50, concurrency: 2 },
    );
    await Promise.all([b.add(1), b.add(2), b.add(3)]);
    expect(sizes).toEqual([3]);
    await expect(b.addAll([4, 5, 6, 7, 8])).resolves.toEqual([4, 5, 6, 7, 8]);
    expect(sizes[1]).toBe(5);
    await expect(Promise.all([b.add(9), b.add(-1)])).rejects.toThrow('db down');
    await b.drain();
  });
});

describe('configuration', () => {
  it('builds defaults from an empty environment (embedded mode)', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({
      port: 3000,
      databaseUrl: undefined,
      redisUrl: undefined,
      dataDir: './data',
      simulator: { port: 2775 },
    });
  });
  it('names the bad field', () => {
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(ConfigError);
    expect(() => loadConfig({ PORT: 'abc' })).toThrow(/env\.PORT/);
    expect(() => loadConfig({ DATABASE_URL: 'nope' })).toThrow(/env\.DATABASE_URL/);
    expect(() => loadConfig({ PARLEY_CONFIG: '/nonexistent.yaml' })).toThrow(/cannot read PARLEY_CONFIG/);
  });
  it('reads carriers and routes from YAML and rejects unknown route carriers', async () => {
    const fs = await import('node:fs');
    const os = await import('node:os');
    const path = await import('node:path');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'parley-cfg-'));
    const good = path.join(dir, 'ok.yaml');
    fs.writeFileSync(
      good,
      'carriers:\n  - id: a\n    host: 127.0.0.1\n    port: 2775\n    systemId: x\n    password: y\nroutes:\n  - numberTypes: [toll_free]\n    carriers: [a]\n',
    );
    const c = loadConfig({ PARLEY_CONFIG: good });
    expect(c.carriers[0]).toMatchObject({
      id: 'a',
      windowSize: 10,
      interfaceVersion: 0x34,
      binds: [{ mode: 'trx', count: 1 }],
    });
    expect(c.simulator).toBeUndefined();
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(
      bad,
      'carriers:\n  - id: a\n    host: h\n    port: 99999\n    systemId: x\n    password: y\n',
    );
    expect(() => loadConfig({ PARLEY_CONFIG: bad })).toThrow(/config\.carriers\.0\.port/);
    const route = path.join(dir, 'route.json');
    fs.writeFileSync(
      route,
      JSON.stringify({
        carriers: [{ id: 'a', host: 'h', port: 1, systemId: 'x', password: 'y' }],
        routes: [{ carriers: ['b'] }],
      }),
    );
    expect(() => loadConfig({ PARLEY_CONFIG: route })).toThrow(/routes\.0\.carriers: unknown carrier "b"/);
  });
});
