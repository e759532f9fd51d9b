import { describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.ts';
import { normalizeAddress, normalizeSendingNumber, TON, toE164 } from '../../src/numbers/phone.ts';

describe('numbers', () => {
  it('normalises to E.164 and keeps short codes as digits', () => {
    expect(toE164('+44 7700 900123', 'US')).toBe('+447700900123');
    expect(toE164('07700 900123', 'GB')).toBe('+447700900123');
    expect(() => toE164('12', 'US')).toThrow(AppError);
    expect(() => toE164('1'.repeat(100_000), 'US')).toThrow(AppError);
    expect(normalizeSendingNumber('12345', 'short_code', 'US')).toBe('12345');
    expect(() => normalizeSendingNumber('+14155550123', 'short_code', 'US')).toThrow(/short code/);
  });
});

// Regression (issue 6): 7 of 8 MOs to the account's own number, sent with TON 0 or 2 and no '+',
// were stored with account_id NULL.
describe('SMPP address normalisation (TON/NPI and region)', () => {
  it('gives every rendering of one US number the same E.164', () => {
    const want = '+14155550100';
    expect(normalizeAddress('14155550100', TON.INTERNATIONAL, 'US')).toBe(want);
    expect(normalizeAddress('+14155550100', TON.UNKNOWN, 'US')).toBe(want);
    expect(normalizeAddress('14155550100', TON.UNKNOWN, 'US')).toBe(want);
    expect(normalizeAddress('14155550100', TON.NATIONAL, 'US')).toBe(want);
    expect(normalizeAddress('4155550100', TON.NATIONAL, 'US')).toBe(want);
    expect(normalizeAddress('4155550100', TON.UNKNOWN, 'US')).toBe(want);
    expect(normalizeAddress('4155550100', TON.SUBSCRIBER, 'US')).toBe(want);
    expect(normalizeAddress('0014155550100', TON.UNKNOWN, 'US')).toBe(want);
  });
  it('reads national numbers in the carrier region and foreign ones as international digits', () => {
    expect(normalizeAddress('07700900123', TON.NATIONAL, 'GB')).toBe('+447700900123');
    expect(normalizeAddress('447700900123', TON.UNKNOWN, 'US')).toBe('+447700900123');
  });
  it('keeps short codes, alphanumeric and network-specific addresses as they are', () => {
    expect(normalizeAddress('12345', TON.UNKNOWN, 'US')).toBe('12345');
    expect(normalizeAddress('12345', TON.NETWORK_SPECIFIC, 'US')).toBe('12345');
    expect(normalizeAddress('PARLEY', TON.ALPHANUMERIC, 'US')).toBe('PARLEY');
    expect(normalizeAddress('  ', TON.UNKNOWN, 'US')).toBe('');
    expect(normalizeAddress('12ab', TON.UNKNOWN, 'US')).toBe('12ab');
  });
});

describe('E.164 fast path (libphonenumber as the oracle)', () => {
  it('gives what the library gives for NANP numbers in E.164, and defers everything else to it', async () => {
    const { parsePhoneNumberFromString } = await import('libphonenumber-js');
    let seed = 42;
    const rnd = () => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed;
    };
    for (let i = 0; i < 5_000; i++) {
      const digits = String(rnd() % 10_000_000_000).padStart(10, '0');
      for (const input of [`+1${digits}`, `+${digits}`, digits, `+44${digits}`]) {
        const lib = parsePhoneNumberFromString(input, 'US');
        const want = lib?.isPossible() ? lib.number : 'invalid';
        let got: string;
        try {
          got = toE164(input, 'US');
        } catch {
          got = 'invalid';
        }
        expect(got, input).toBe(want);
      }
    }
  });
});
