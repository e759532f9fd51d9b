/**
 * Quiet hours: nothing is submitted outside the allowed window of the recipient's local day
 * (default 08:00–21:00; TCPA and state rules). A recipient whose number spans several zones must
 * be inside the window in all of them. Pure; time-zone arithmetic (DST included) by Luxon.
 */
import { DateTime } from 'luxon';

export interface SendWindow {
  /** Local time the window opens, "HH:MM". */
  start: string;
  /** Local time it closes (exclusive), "HH:MM"; after `start`. */
  end: string;
}

export const DEFAULT_WINDOW: SendWindow = Object.freeze({ start: '08:00', end: '21:00' });

const HHMM = /^([01]\d|2[0-3]):([0-5]\d)$/;

/** Whether `w` is a valid window (HH:MM, start before end). */
export function isValidWindow(w: SendWindow): boolean {
  return HHMM.test(w.start) && HHMM.test(w.end) && minutes(w.start) < minutes(w.end);
}

function minutes(hhmm: string): number {
  const m = HHMM.exec(hhmm)!;
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Per ISO weekday (1 = Monday … 7 = Sunday) the window, or null for a day with none. */
export type WindowFor = (weekday: 1 | 2 | 3 | 4 | 5 | 6 | 7) => SendWindow | null;

function inside(zone: string, windowFor: WindowFor, at: DateTime): boolean {
  const local = at.setZone(zone);
  const w = windowFor(local.weekday as 1 | 2 | 3 | 4 | 5 | 6 | 7);
  if (!w) return false;
  const m = local.hour * 60 + local.minute;
  return m >= minutes(w.start) && m < minutes(w.end);
}

/**
 * When a message to a recipient in `zones` may be sent, at or after `now`: undefined when it may
 * go now, else the first instant inside the window in every zone. Throws on an unknown zone or an
 * invalid window; returns undefined for an empty zone list (nothing to respect).
 */
export function nextAllowed(zones: readonly string[], w: SendWindow, now: Date): Date | undefined {
  if (!isValidWindow(w)) throw new Error(`invalid send window ${w.start}–${w.end}`);
  return nextAllowedBy(zones, () => w, now);
}

/**
 * As nextAllowed, with a window per local weekday (state rules: shorter Sundays, no Sundays).
 * Undefined also when no day of the coming week has a window in every zone (nothing to wait for).
 */
export function nextAllowedBy(zones: readonly string[], windowFor: WindowFor, now: Date): Date | undefined {
  if (zones.length === 0) return undefined;
  for (const z of zones) if (!DateTime.local().setZone(z).isValid) throw new Error(`unknown time zone ${z}`);
  const t = DateTime.fromJSDate(now, { zone: 'utc' });
  if (zones.every((z) => inside(z, windowFor, t))) return undefined;
  // The answer is the opening of some day's window in one of the zones (within a week and a day):
  // try each opening in time order.
  const candidates: DateTime[] = [];
  for (const z of zones) {
    const local = t.setZone(z);
    for (let d = 0; d <= 8; d++) {
      const day = local.startOf('day').plus({ days: d });
      const w = windowFor(day.weekday as 1 | 2 | 3 | 4 | 5 | 6 | 7);
      if (!w) continue;
      const [sh, sm] = w.start.split(':').map(Number) as [number, number];
      const open = day.set({ hour: sh, minute: sm });
      if (open > t) candidates.push(open.toUTC());
    }
  }
  candidates.sort((a, b) => a.toMillis() - b.toMillis());
  for (const c of candidates) if (zones.every((z) => inside(z, windowFor, c))) return c.toJSDate();
  // No instant inside every zone's window (zones too far apart): the earliest opening anywhere.
  return candidates[0]?.toJSDate();
}
