import { describe, expect, it } from 'vitest';
import type { SendingNumber } from '../../src/messaging/ports.ts';
import { chooseSender, NO_HINTS } from '../../src/messaging/sender.ts';

const n = (e164: string): SendingNumber => ({ id: e164, accountId: 'a', e164, type: 'local' });
const numbers = [n('+1A'), n('+1B'), n('+1C'), n('+1D')];

describe('chooseSender', () => {
  it('takes the steps in order: assigned, sticky, user default, account default', () => {
    const all = { assigned: '+1A', sticky: '+1B', userDefault: '+1C', accountDefault: '+1D' };
    expect(chooseSender(numbers, all)).toEqual({ number: numbers[0], source: 'assigned' });
    expect(chooseSender(numbers, { ...all, assigned: null })).toEqual({
      number: numbers[1],
      source: 'sticky',
    });
    expect(chooseSender(numbers, { ...all, assigned: null, sticky: null })).toEqual({
      number: numbers[2],
      source: 'user_default',
    });
    expect(chooseSender(numbers, { ...NO_HINTS, accountDefault: '+1D' })).toEqual({
      number: numbers[3],
      source: 'account_default',
    });
  });

  it('skips a number that left the account; none left is undefined', () => {
    const gone = { assigned: '+1X', sticky: '+1Y', userDefault: '+1Z', accountDefault: '+1C' };
    expect(chooseSender(numbers, gone)).toEqual({ number: numbers[2], source: 'account_default' });
    expect(chooseSender(numbers, { ...gone, accountDefault: '+1W' })).toBeUndefined();
    expect(chooseSender(numbers, NO_HINTS)).toBeUndefined();
    expect(chooseSender([], { ...NO_HINTS, accountDefault: '+1A' })).toBeUndefined();
  });
});
