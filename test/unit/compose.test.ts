import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.ts';
import { checkRequest, draftFor, parseDateTime, requestHash } from '../../src/messaging/compose.ts';
import {
  DEFAULT_PROFILE,
  dataCodingFor,
  encodeForProfile,
  profileKey,
  referenceOf,
  sameSplit,
} from '../../src/messaging/encode-profile.ts';
import type { EncodeProfile } from '../../src/messaging/model.ts';

const policy = { defaultRegion: 'US', maxSegments: 10, validityMs: 3_600_000 };
const now = new Date('2026-11-26T12:00:00Z');
const ctx = { accountId: 'acc', from: { e164: '+15550100001', type: 'local' as const }, now };
const noUrlCheck = () => undefined;

const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as AppError).code;
  }
  return 'none';
};

describe('checkRequest', () => {
  it('normalises numbers and keeps what the policies need', () => {
    const c = checkRequest({ to: '(415) 555-0123', body: 'hi' }, ctx, policy, noUrlCheck);
    expect(c).toMatchObject({ to: '+14155550123', from: '+15550100001', numberType: 'local', body: 'hi' });
    // UUIDv7: time-ordered ids keep primary-key inserts at the right edge of the index.
    expect(c.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7/);
  });
  it('rejects bad input with stable codes', () => {
    expect(code(() => checkRequest({ to: 'x', body: 'b' }, ctx, policy, noUrlCheck))).toBe(
      'INVALID_TO_NUMBER',
    );
    expect(code(() => checkRequest({ to: '+14155550123', body: '' }, ctx, policy, noUrlCheck))).toBe(
      'BODY_EMPTY',
    );
    expect(
      code(() => checkRequest({ to: '+14155550123', body: 'b', sendAt: 'soon' }, ctx, policy, noUrlCheck)),
    ).toBe('INVALID_SEND_AT');
    expect(
      code(() =>
        checkRequest({ to: '+14155550123', body: 'b', statusCallback: 'x' }, ctx, policy, () => {
          throw new AppError('INVALID_CALLBACK_URL');
        }),
      ),
    ).toBe('INVALID_CALLBACK_URL');
  });
  // Regression (issue 6): out-of-range dates in cursors and filters answered 500.
  it('accepts only dates PostgreSQL can store', () => {
    for (const bad of [
      '+275760-09-13T00:00:00Z',
      '10000-01-01T00:00:00Z',
      '1969-12-31T23:59:59Z',
      '2026-13-01',
      'x',
    ])
      expect(code(() => parseDateTime('d', bad))).toBe('INVALID_DATE');
    expect(parseDateTime('d', '2026-11-26T12:00:00Z').toISOString()).toBe('2026-11-26T12:00:00.000Z');
  });
  it('hashes requests so that only identical ones replay', () => {
    expect(requestHash({ to: '+1', body: 'a' })).toBe(requestHash({ to: '+1', body: 'a' }));
    expect(requestHash({ to: '+1', body: 'a' })).not.toBe(requestHash({ to: '+1', body: 'b' }));
    expect(requestHash({ to: '+1', body: 'a', metadata: { x: 1 } })).not.toBe(
      requestHash({ to: '+1', body: 'a' }),
    );
  });
});

describe('draftFor: encoding for the route carrier', () => {
  const cand = checkRequest({ to: '+14155550123', body: 'x'.repeat(200) }, ctx, policy, noUrlCheck);
  it('encodes and segments, keeping validity from the send time', () => {
    const d = draftFor(cand, DEFAULT_PROFILE, policy, 7, undefined);
    expect(d.segmentCount).toBe(2);
    expect(d.segments.map((s) => s.payload.subarray(0, 6).toString('hex'))).toEqual([
      '050003070201',
      '050003070202',
    ]);
    expect(d.segments.every((s) => s.esmClass === 0x40 && !s.usePayloadTlv)).toBe(true);
    expect(d.expiresAt.toISOString()).toBe('2026-11-26T13:00:00.000Z');
    expect(d.profile).toBe('g0.u.r8.udh');
  });
  it('takes the profile into account: payload mode, 16-bit ref, IA5, Latin-1', () => {
    const payload = draftFor(cand, { ...DEFAULT_PROFILE, longMessageMode: 'payload' }, policy, 7, undefined);
    expect(payload.segments).toHaveLength(1);
    expect(payload.segments[0]!.usePayloadTlv).toBe(true);
    expect(payload.segmentCount).toBe(2);
    const wide = draftFor(cand, { ...DEFAULT_PROFILE, concatRef: '16bit' }, policy, 0x1234, undefined);
    expect(wide.segments[0]!.payload.subarray(0, 7).toString('hex')).toBe('06080412340201');
    const ia5 = draftFor(cand, { ...DEFAULT_PROFILE, gsmDataCoding: 1 }, policy, 7, undefined);
    expect(ia5.segments[0]!.dataCoding).toBe(1);
    const fr = checkRequest({ to: '+14155550123', body: 'Ça coûte 5 € — voilà' }, ctx, policy, noUrlCheck);
    expect(draftFor(fr, DEFAULT_PROFILE, policy, 1, undefined).encoding).toBe('ucs2');
    const latin = checkRequest({ to: '+14155550123', body: 'Ça coûte — non' }, ctx, policy, noUrlCheck);
    expect(draftFor(latin, { ...DEFAULT_PROFILE, allowLatin1: true }, policy, 1, undefined).encoding).toBe(
      'ucs2',
    );
    const latin2 = checkRequest({ to: '+14155550123', body: 'Ça coûte ô' }, ctx, policy, noUrlCheck);
    expect(draftFor(latin2, { ...DEFAULT_PROFILE, allowLatin1: true }, policy, 1, undefined).encoding).toBe(
      'latin1',
    );
  });
  it('refuses a body over the segment limit', () => {
    const c = checkRequest({ to: '+14155550123', body: 'Ж'.repeat(700) }, ctx, policy, noUrlCheck);
    expect(code(() => draftFor(c, DEFAULT_PROFILE, policy, 1, undefined))).toBe('BODY_TOO_LONG');
  });
  it('a deferral in the future schedules the message; one in the past is now', () => {
    const later = new Date(now.getTime() + 86_400_000);
    const d = draftFor(cand, DEFAULT_PROFILE, policy, 1, later);
    expect(d.sendAt).toEqual(later);
    expect(d.expiresAt.getTime()).toBe(later.getTime() + policy.validityMs);
    expect(draftFor(cand, DEFAULT_PROFILE, policy, 1, new Date(0)).sendAt).toBeUndefined();
  });
});

describe('encode profiles', () => {
  const p = (o: Partial<EncodeProfile>): EncodeProfile => ({ ...DEFAULT_PROFILE, ...o });
  it('has stable keys and knows which differences change the split', () => {
    expect(profileKey(p({}))).toBe('g0.u.r8.udh');
    expect(
      profileKey(p({ gsmDataCoding: 1, allowLatin1: true, concatRef: '16bit', longMessageMode: 'payload' })),
    ).toBe('g1.l.r16.payload');
    expect(sameSplit('g0.u.r8.udh', 'g1.u.r8.udh')).toBe(true);
    expect(sameSplit('g0.u.r8.udh', 'g0.u.r8.payload')).toBe(false);
    expect(sameSplit('g0.u.r8.udh', 'g0.l.r8.udh')).toBe(false);
  });
  it('changes only GSM data_coding when adapting a stored segment', () => {
    expect(dataCodingFor(0, p({ gsmDataCoding: 1 }))).toBe(1);
    expect(dataCodingFor(1, p({ gsmDataCoding: 0 }))).toBe(0);
    expect(dataCodingFor(8, p({ gsmDataCoding: 1 }))).toBe(8);
    expect(dataCodingFor(3, p({ gsmDataCoding: 1 }))).toBe(3);
  });
  it('reads the concatenation reference back from a stored part', () => {
    const e8 = encodeForProfile('y'.repeat(300), p({}), 0xab);
    expect(referenceOf(e8.segments[1]!.payload, e8.segments[1]!.esmClass)).toBe(0xab);
    const e16 = encodeForProfile('y'.repeat(300), p({ concatRef: '16bit' }), 0xabcd);
    expect(referenceOf(e16.segments[0]!.payload, 0x40)).toBe(0xabcd);
    expect(referenceOf(Buffer.from('hello'), 0)).toBeUndefined();
  });
});
