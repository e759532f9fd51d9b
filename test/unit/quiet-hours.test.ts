import { timezones } from 'libphonenumber-geo-carrier';
import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { describe, expect, it } from 'vitest';
import { DEFAULT_WINDOW, isValidWindow, nextAllowed } from '../../src/compliance/quiet-hours.ts';
import { dataZones, zonesOfNumber, zonesOfNumbers } from '../../src/compliance/time-zones.ts';

const at = (iso: string) => new Date(iso);
const NY = ['America/New_York'];

describe('quiet hours', () => {
  it('lets a message go inside 08:00–21:00 local and holds it outside until 08:00 local', () => {
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-06-10T14:00:00Z'))).toBeUndefined(); // 10:00 EDT
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-06-10T12:00:00Z'))).toBeUndefined(); // 08:00 EDT exactly
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-06-11T01:00:00Z'))).toEqual(at('2026-06-11T12:00:00Z')); // 21:00 EDT
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-06-11T00:59:00Z'))).toBeUndefined(); // 20:59 EDT
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-06-10T11:59:00Z'))).toEqual(at('2026-06-10T12:00:00Z')); // 07:59
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-01-10T03:00:00Z'))).toEqual(at('2026-01-10T13:00:00Z')); // EST
  });

  it('follows DST changes (spring forward and fall back)', () => {
    // 2026-03-08: clocks go 02:00 → 03:00 in New York; 08:00 EDT = 12:00Z.
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-03-08T06:30:00Z'))).toEqual(at('2026-03-08T12:00:00Z'));
    // 2026-11-01: 02:00 → 01:00; 08:00 EST = 13:00Z.
    expect(nextAllowed(NY, DEFAULT_WINDOW, at('2026-11-01T05:30:00Z'))).toEqual(at('2026-11-01T13:00:00Z'));
    // A window that opens inside the spring-forward gap still opens (at 03:00 EDT).
    const gap = nextAllowed(NY, { start: '02:30', end: '21:00' }, at('2026-03-08T06:00:00Z'));
    expect(gap).toBeDefined();
    expect(gap!.getTime()).toBeGreaterThan(at('2026-03-08T06:00:00Z').getTime());
  });

  it('waits until every zone of a number that spans two is inside', () => {
    const idaho = ['America/Boise', 'America/Los_Angeles'];
    // 08:30 in Boise is 07:30 in Los Angeles: wait for 08:00 Pacific.
    expect(nextAllowed(idaho, DEFAULT_WINDOW, at('2026-06-10T14:30:00Z'))).toEqual(
      at('2026-06-10T15:00:00Z'),
    );
    // 20:30 Pacific is 21:30 Mountain: quiet until 08:00 Pacific the next day.
    expect(nextAllowed(idaho, DEFAULT_WINDOW, at('2026-06-11T03:30:00Z'))).toEqual(
      at('2026-06-11T15:00:00Z'),
    );
  });

  it('handles zones far apart, other countries, and bad input', () => {
    expect(nextAllowed(['Europe/Paris'], DEFAULT_WINDOW, at('2026-06-10T20:00:00Z'))).toEqual(
      at('2026-06-11T06:00:00Z'),
    );
    expect(nextAllowed([], DEFAULT_WINDOW, at('2026-06-10T03:00:00Z'))).toBeUndefined();
    const far = nextAllowed(
      ['Pacific/Guam', 'America/Halifax'],
      { start: '09:00', end: '10:00' },
      at('2026-06-10T00:00:00Z'),
    );
    expect(far).toBeDefined();
    expect(() => nextAllowed(['Mars/Base'], DEFAULT_WINDOW, new Date())).toThrow(/unknown time zone/);
    expect(() => nextAllowed(NY, { start: '21:00', end: '08:00' }, new Date())).toThrow(/invalid/);
    expect(isValidWindow({ start: '08:00', end: '21:00' })).toBe(true);
    expect(isValidWindow({ start: '8:00', end: '21:00' })).toBe(false);
    expect(isValidWindow({ start: '09:00', end: '09:00' })).toBe(false);
    expect(isValidWindow({ start: '24:00', end: '25:00' })).toBe(false);
  });

  it('agrees with a minute-by-minute scan over a year of instants (oracle)', () => {
    const zones = [
      ['America/Chicago'],
      ['America/Boise', 'America/Los_Angeles'],
      ['Australia/Lord_Howe'],
      ['Asia/Kolkata'],
    ];
    const w = { start: '09:15', end: '20:00' };
    const fmt = (z: string, d: Date) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone: z,
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(d);
    const ok = (zs: string[], d: Date) => zs.every((z) => fmt(z, d) >= w.start && fmt(z, d) < w.end);
    let seed = 7;
    for (let i = 0; i < 60; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const now = new Date(Date.UTC(2026, 0, 1) + (seed % (365 * 1440)) * 60_000);
      const zs = zones[i % zones.length]!;
      const got = nextAllowed(zs, w, now);
      let t = now.getTime();
      while (!ok(zs, new Date(t))) t += 60_000;
      expect(got?.getTime() ?? now.getTime(), `${zs} at ${now.toISOString()}`).toBe(t);
    }
  });
});

describe("a number's time zones (libphonenumber data)", () => {
  it('places NANP area codes, splits within one, other countries; not non-geographic numbers', async () => {
    expect(zonesOfNumber('+14155550123')).toEqual(['America/Los_Angeles']);
    expect(zonesOfNumber('+12125550123')).toEqual(['America/New_York']);
    expect(zonesOfNumber('+12083015555')).toEqual(['America/Boise', 'America/Los_Angeles']);
    expect(zonesOfNumber('+12082015555')).toEqual(['America/Denver']);
    expect(zonesOfNumber('+33612345678')).toEqual(['Europe/Paris']);
    expect(zonesOfNumber('+18005550100')).toEqual([]);
    expect(zonesOfNumber('+999')).toEqual([]);
    const many = await zonesOfNumbers(['+14155550123', '+14155550124', '+33612345678']);
    expect(many.get('+14155550124')).toEqual(['America/Los_Angeles']);
  });

  it('matches libphonenumber-geo-carrier (the oracle) on numbers across the data', async () => {
    let seed = 11;
    const numbers: string[] = [
      '+12083015555',
      '+12082015555',
      '+19075550100',
      '+18085550100',
      '+447700900123',
    ];
    for (let i = 0; i < 300; i++) {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      const cc = ['1', '1', '1', '7', '33', '44', '49', '52', '55', '61', '86', '91', '234', '380'][
        seed % 14
      ]!;
      numbers.push(
        `+${cc}${String(seed)
          .padStart(10, '0')
          .slice(0, cc === '1' ? 10 : 9)}`,
      );
    }
    for (const n of numbers) {
      const parsed = parsePhoneNumberFromString(n);
      if (!parsed) continue;
      const lib = await timezones(parsed);
      // The gateway's numbers are normalised E.164 (as the library normalises its input).
      expect(dataZones(parsed.number) ?? null, n).toEqual(lib);
    }
  });
});
