import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { AppError, type ErrorCode } from '../errors/app-error.ts';
import type { NumberType } from '../messaging/vocabulary.ts';

const NANP_E164 = /^\+1[2-9]\d{2}[2-9]\d{6}$/;

/**
 * Normalises a destination or sending number to E.164 (`+15551230000`). Numbers are checked
 * for a possible length for their country, not against allocation tables, so test ranges such as
 * 555-01xx pass. Throws a 400 AppError with `code` when the input is not a phone number.
 */
export function toE164(
  input: string,
  defaultRegion: string,
  code: ErrorCode = 'INVALID_PHONE_NUMBER',
): string {
  const raw = input.trim();
  // libphonenumber costs ~40 µs a number (bench profile); NANP numbers already in E.164 — most of
  // the traffic — are possible by their length alone, which is all isPossible() checks for them.
  // test/unit/phone.test.ts checks this against the library.
  if (NANP_E164.test(raw)) return raw;
  const p = raw.length <= 64 ? parsePhoneNumberFromString(raw, defaultRegion as CountryCode) : undefined;
  if (!p?.isPossible()) {
    throw new AppError(
      code,
      `"${input.slice(0, 64)}" is not a phone number we can send to; use E.164, e.g. +14155550123`,
    );
  }
  return p.number;
}

/**
 * Normalises a sending number: short codes (3–8 digits, no +) stay as digits; everything else
 * becomes E.164.
 */
export function normalizeSendingNumber(input: string, type: NumberType, defaultRegion: string): string {
  if (type === 'short_code') {
    const digits = input.trim();
    if (!/^\d{3,8}$/.test(digits))
      throw new AppError('INVALID_SHORT_CODE', `"${input.slice(0, 64)}" is not a short code (3 to 8 digits)`);
    return digits;
  }
  return toE164(input, defaultRegion, 'INVALID_FROM_NUMBER');
}

/** SMPP type of number (SMPP 3.4 §5.2.5). */
export const TON = {
  UNKNOWN: 0,
  INTERNATIONAL: 1,
  NATIONAL: 2,
  NETWORK_SPECIFIC: 3,
  SUBSCRIBER: 4,
  ALPHANUMERIC: 5,
  ABBREVIATED: 6,
} as const;

/**
 * The form numbers are stored and compared in, from an SMPP address: E.164 for phone numbers,
 * digits for short codes, the text itself for alphanumeric senders. International numbers get
 * their `+`; numbers without an international TON (0 unknown, 2 national, 4 subscriber) are read
 * as national numbers of `region` first (`14155550100` and `4155550100` in the US are both
 * +14155550100), then as international digits. Pure; never throws.
 */
export function normalizeAddress(addr: string, ton: number, region: string): string {
  const a = addr.trim();
  if (a === '') return a;
  if (ton === TON.ALPHANUMERIC || ton === TON.NETWORK_SPECIFIC || ton === TON.ABBREVIATED) return a;
  let digits = a;
  let international = ton === TON.INTERNATIONAL;
  if (digits.startsWith('+')) {
    digits = digits.slice(1);
    international = true;
  } else if (digits.startsWith('00') && digits.length > 10) {
    digits = digits.slice(2);
    international = true;
  }
  if (!/^\d+$/.test(digits)) return a;
  if (international) return `+${digits}`;
  // Short codes are dialled as they are.
  if (digits.length <= 8) return digits;
  const national = parsePhoneNumberFromString(digits, region as CountryCode);
  if (national?.isPossible()) return national.number;
  const intl = parsePhoneNumberFromString(`+${digits}`);
  if (intl?.isPossible()) return intl.number;
  return `+${digits}`;
}
