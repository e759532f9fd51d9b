import { type CountryCode, parsePhoneNumberFromString } from 'libphonenumber-js';
import { AppError } from '../errors/app-error.ts';

export const NUMBER_TYPES = ['local', 'toll_free', 'short_code', 'mobile'] as const;
export type NumberType = (typeof NUMBER_TYPES)[number];

/**
 * Normalises a destination or sending number to E.164 (`+15551230000`). Numbers are checked
 * for a possible length for their country, not against allocation tables, so test ranges such as
 * 555-01xx pass. Throws a 400 AppError with `code` when the input is not a phone number.
 */
export function toE164(input: string, defaultRegion: string, code = 'INVALID_PHONE_NUMBER'): string {
  const raw = input.trim();
  const p = parsePhoneNumberFromString(raw, defaultRegion as CountryCode);
  if (!p?.isPossible()) {
    throw new AppError(
      code,
      `"${input}" is not a phone number we can send to; use E.164, e.g. +14155550123`,
      {
        httpStatus: 400,
        action: 'fix-request',
      },
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
    if (!/^\d{3,8}$/.test(digits)) {
      throw new AppError('INVALID_SHORT_CODE', `"${input}" is not a short code (3 to 8 digits)`, {
        httpStatus: 400,
        action: 'fix-request',
      });
    }
    return digits;
  }
  return toE164(input, defaultRegion, 'INVALID_FROM_NUMBER');
}
