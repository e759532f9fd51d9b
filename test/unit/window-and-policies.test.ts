import { describe, expect, it } from 'vitest';
import { aimdDecrease, aimdIncrease, backoffDelay } from '../../src/smpp/backoff.ts';
import { classifyStatus, STATUS, statusName } from '../../src/smpp/command-status.ts';
import { SendWindow } from '../../src/smpp/send-window.ts';

describe('SendWindow', () => {
  it('caps outstanding requests and refuses duplicates', () => {
    const w = new SendWindow<string>(2, 1000);
    w.add(1, 'a', 0);
    w.add(2, 'b', 0);
    expect(w.free).toBe(0);
    expect(() => w.add(3, 'c', 0)).toThrow(/full/);
    expect(w.complete(1)?.ctx).toBe('a');
    expect(() => w.add(2, 'x', 0)).toThrow(/outstanding/);
    expect(w.complete(99)).toBeUndefined();
  });
  it('expires in deadline order and drains the rest', () => {
    const w = new SendWindow<number>(10, 100);
    for (let i = 1; i <= 5; i++) w.add(i, i, i * 10);
    expect(w.expire(129).map((e) => e.seq)).toEqual([1, 2]);
    expect(w.size).toBe(3);
    expect(w.drain().map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(w.size).toBe(0);
  });
  it('can shrink below the number outstanding without losing entries', () => {
    const w = new SendWindow<number>(5, 100);
    for (let i = 1; i <= 5; i++) w.add(i, i, 0);
    w.setCapacity(2);
    expect(w.free).toBe(0);
    expect(w.size).toBe(5);
  });
});

describe('command_status classes', () => {
  it('throttles on 0x58, queue-full (0x14) is per destination, retries temporary codes, rebinds on bind status', () => {
    expect(classifyStatus(0)).toBe('ok');
    expect(classifyStatus(STATUS.ESME_RTHROTTLED)).toBe('throttle');
    expect(classifyStatus(STATUS.ESME_RMSGQFUL)).toBe('queue-full');
    expect(classifyStatus(STATUS.ESME_RSYSERR)).toBe('temporary');
    expect(classifyStatus(STATUS.ESME_RX_T_APPN)).toBe('temporary');
    expect(classifyStatus(STATUS.ESME_RINVBNDSTS)).toBe('rebind');
    expect(classifyStatus(STATUS.ESME_RINVDSTADR)).toBe('permanent');
    expect(classifyStatus(0x401)).toBe('permanent');
    expect(statusName(0x58)).toBe('ESME_RTHROTTLED');
    expect(statusName(0x401)).toBe('0x00000401');
  });
});

describe('backoff and AIMD', () => {
  const policy = { initialMs: 100, maxMs: 5000, multiplier: 2 };
  it('grows exponentially, stays within [cap/10, cap] and is capped', () => {
    expect(backoffDelay(policy, 0, () => 1)).toBe(100);
    expect(backoffDelay(policy, 3, () => 1)).toBe(800);
    expect(backoffDelay(policy, 3, () => 0)).toBe(80);
    expect(backoffDelay(policy, 30, () => 1)).toBe(5000);
  });
  const aimd = { minRate: 5, increasePerSecond: 10, decreaseFactor: 0.5, holdMs: 200, maxRate: 1000 };
  it('halves on throttle from the observed rate, once per burst', () => {
    const s1 = aimdDecrease({ rate: Number.POSITIVE_INFINITY, lastDecreaseAt: 0 }, aimd, 400, 1000);
    expect(s1.rate).toBe(200);
    expect(aimdDecrease(s1, aimd, 400, 1100)).toBe(s1);
    expect(aimdDecrease(s1, aimd, 400, 1300).rate).toBe(100);
    expect(aimdDecrease({ rate: 6, lastDecreaseAt: 0 }, aimd, 6, 1000).rate).toBe(5);
  });
  it('recovers additively and unpaces at the ceiling', () => {
    expect(aimdIncrease({ rate: 100, lastDecreaseAt: 0 }, aimd, 1000).rate).toBe(110);
    expect(aimdIncrease({ rate: 995, lastDecreaseAt: 0 }, aimd, 1000).rate).toBe(Number.POSITIVE_INFINITY);
  });
});
