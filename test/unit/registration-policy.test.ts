import { describe, expect, it } from 'vitest';
import type { ClaimedSegment } from '../../src/messaging/model.ts';
import {
  type NumberRegistration,
  registrationDispatchPolicy,
} from '../../src/numbers/registration-policy.ts';

const seg = (from: string) => ({ from }) as ClaimedSegment;

describe('the registration gate at dispatch', () => {
  it('allows registered numbers, holds those pending assignment, fails the rest and unknown numbers', async () => {
    const known = new Map<string, NumberRegistration>([
      ['+15125550001', { type: 'local', registered: true, pending: false }],
      ['+15125550002', { type: 'local', registered: false, pending: true }],
      ['+15125550003', { type: 'local', registered: false, pending: false }],
      ['+18005550004', { type: 'toll_free', registered: false, pending: false }],
    ]);
    const p = registrationDispatchPolicy(async (n) => new Map([...known].filter(([k]) => n.includes(k))), {
      pendingWaitMs: 5_000,
      now: () => 1_000_000,
    });
    const segs = ['+15125550001', '+15125550002', '+15125550003', '+18005550004', '+15125559999'].map(seg);
    const loaded = await p.load!(segs);
    const d = segs.map((s) => p.decide(s, loaded));
    expect(d[0]).toEqual({ kind: 'allow' });
    expect(d[1]).toEqual({ kind: 'defer', until: new Date(1_005_000), reason: 'registration_pending' });
    expect(d[2]).toMatchObject({ kind: 'reject', code: 'NUMBER_NOT_REGISTERED', status: 'failed' });
    expect(d[3]).toMatchObject({ kind: 'reject', code: 'TOLL_FREE_NOT_VERIFIED', status: 'failed' });
    expect(d[4]).toMatchObject({ kind: 'reject', reason: 'number_not_registered' });
  });
});
